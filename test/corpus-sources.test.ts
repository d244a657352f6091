import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clipId, extracted, REAL_SOURCES, sourceSeed, unzipLiteral, WIDER_SOURCES } from "../src/corpus/build.js";

const has = (cmd: string) => {
  try {
    execFileSync(cmd, ["-h"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

const pick = (name: string) => WIDER_SOURCES.find((s) => s.name === name)!;

describe("corpus source tables", () => {
  it("keeps the first corpus's table (its order fixes the random forks and so its clips)", () => {
    expect(REAL_SOURCES.map((s) => s.name)).toEqual(["festvox-ru", "fillets-cs", "fillets-nl", "hedgewars-voices", "klettres", "ktuberling", "warzone2100-music", "supertuxkart-music", "hedgewars-music"]);
  });

  it("gives every source a distinct name and only the packages issue 19 allows", () => {
    const names = [...REAL_SOURCES, ...WIDER_SOURCES].map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    const allowed = ["megaglest-data", "asterisk-prompt-fr-armelle", "asterisk-prompt-es-co", "lincity-ng-data", "openarena-data", "redeclipse-data", "0ad-data"];
    for (const s of WIDER_SOURCES) expect(allowed).toContain(s.pkg);
  });

  it("seeds each wider source deterministically and differently", () => {
    expect(sourceSeed(1, "megaglest-music")).toBe(sourceSeed(1, "megaglest-music"));
    expect(sourceSeed(1, "megaglest-music")).not.toBe(sourceSeed(2, "megaglest-music"));
    expect(sourceSeed(1, "megaglest-music")).not.toBe(sourceSeed(1, "megaglest-voices"));
  });

  it("takes voice lines and music, not effects", () => {
    const mg = "/usr/share/games/megaglest/techs/megapack/factions/magic/units/initiate/sounds/";
    expect(pick("megaglest-voices").match.test(`${mg}initiate_ack7.wav`)).toBe(true);
    expect(pick("megaglest-voices").match.test(`${mg}initiate_select2.wav`)).toBe(true);
    expect(pick("megaglest-voices").match.test(`${mg}initiate_attack6.wav`)).toBe(false);
    expect(pick("megaglest-voices").match.test(`${mg}dragon_ack1.wav`)).toBe(false);
    expect(pick("megaglest-music").match.test("/usr/share/games/megaglest/techs/megapack/factions/tech/music/music_tech.ogg")).toBe(true);
    expect(pick("asterisk-fr-armelle").match.test("/usr/share/asterisk/sounds/fr/digits/1.gsm")).toBe(true);
    expect(pick("asterisk-es-co").match.test("/usr/share/asterisk/sounds/es/vm-toreply.gsm")).toBe(true);
    expect(pick("asterisk-es-co").match.test("/usr/share/asterisk/sounds/en/vm-toreply.gsm")).toBe(false);
    expect(pick("lincity-ng-music").match.test("/usr/share/games/lincity-ng/music/default/02 - Robert van Herk - City Blues.ogg")).toBe(true);
    expect(pick("lincity-ng-music").match.test("/usr/share/games/lincity-ng/sounds/Farm1.wav")).toBe(false);
    const re = "/usr/share/games/redeclipse/data/sounds/";
    expect(pick("redeclipse-voices").match.test(`${re}announcer/fight.ogg`)).toBe(true);
    expect(pick("redeclipse-voices").match.test(`${re}voice/thanks.ogg`)).toBe(true);
    expect(pick("redeclipse-voices").match.test(`${re}weapons/rifle/fire.ogg`)).toBe(false);
    expect(pick("redeclipse-music").match.test(`${re}music/track_01.ogg`)).toBe(true);
  });

  it("takes 0 A.D.'s and OpenArena's voices and music from inside their zip archives", () => {
    const zeroAd = "/usr/share/games/0ad/mods/public/public.zip";
    expect(pick("0ad-voices").archive!.test(zeroAd)).toBe(true);
    expect(pick("0ad-voices").archive!.test("/usr/share/games/0ad/mods/mod/mod.zip")).toBe(false);
    expect(pick("0ad-voices").match.test("audio/voice/greek/civ/civ_male_attack_1.ogg")).toBe(true);
    expect(pick("0ad-voices").match.test("audio/attack/weapon/sword_1.ogg")).toBe(false);
    expect(pick("0ad-voices").match.test("audio/voice/global/civ_dog_bark.ogg")).toBe(false); // not a voice
    expect(pick("0ad-music").match.test("audio/music/Honor_Bound.ogg")).toBe(true);
    expect(pick("0ad-music").match.test("audio/ambient/dawn.ogg")).toBe(false);
    expect(pick("openarena-voices").archive!.test("/usr/share/games/openarena/missionpack/mp-pak0.pk3")).toBe(true);
    expect(pick("openarena-voices").match.test("sound/voices/rott/coverme.ogg")).toBe(true);
    expect(pick("openarena-voices").match.test("sound/voices/festivoxmale/coverme.ogg")).toBe(false);
    // An entry's id names its archive, so two archives' same-named entries cannot collide.
    expect(clipId(pick("0ad-music"), `${zeroAd}!audio/music/Honor_Bound.ogg`)).toBe("0ad-music/public_audio_music_Honor_Bound");
    // Their voices are held out whole (the unseen split); music trains.
    expect([pick("0ad-voices").heldOut, pick("openarena-voices").heldOut, pick("0ad-music").heldOut]).toEqual([true, true, undefined]);
    expect([...REAL_SOURCES, ...WIDER_SOURCES].filter((s) => s.heldOut).map((s) => s.name)).toEqual(["openarena-voices", "0ad-voices"]);
    expect(clipId(REAL_SOURCES[0], "/usr/share/festival/voices/russian/wav/a.wav")).toBe("festvox-ru/festival_voices_russian_wav_a");
  });

  it.runIf(has("unzip") && has("python3"))("extracts one archive entry whose name has wildcard characters", () => {
    const dir = mkdtempSync(join(tmpdir(), "fmac-zip-"));
    const zip = join(dir, "a.pk3");
    const py = `import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1],'w')\nz.writestr('sound/x[1]*.ogg',b'one')\nz.writestr('sound/x1a.ogg',b'two')\nz.close()`;
    execFileSync("python3", ["-c", py, zip]);
    expect(unzipLiteral("sound/x[1]*.ogg")).toBe("sound/x\\[1\\]\\*.ogg");
    const out = extracted(`${zip}!sound/x[1]*.ogg`, dir);
    expect(out.endsWith(".ogg")).toBe(true);
    expect(readFileSync(out, "utf8")).toBe("one");
    writeFileSync(join(dir, "plain.wav"), "w");
    expect(extracted(join(dir, "plain.wav"), dir)).toBe(join(dir, "plain.wav"));
  });
});
