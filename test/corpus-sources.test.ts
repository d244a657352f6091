import { describe, expect, it } from "vitest";
import { REAL_SOURCES, sourceSeed, WIDER_SOURCES } from "../src/corpus/build.js";

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
});
