import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listedClips } from "../src/cli/commands/eval.js";
import { makeToyCorpus } from "./toy-corpus.js";

describe("eval --clips: a fixed list of corpus clips", () => {
  const corpus = makeToyCorpus(mkdtempSync(join(tmpdir(), "flowmac-clips-")));
  const list = (text: string) => {
    const f = join(mkdtempSync(join(tmpdir(), "flowmac-list-")), "clips.txt");
    writeFileSync(f, text);
    return f;
  };

  it("takes the named clips in the list's order, from any split, skipping comments and blank lines", () => {
    const clips = listedClips([corpus], list("# stop clips\ntoy-5\n\n toy-0 \n"));
    expect(clips.map((c) => c.name)).toEqual(["toy-5", "toy-0"]);
    expect(clips[0].path).toBe(join(corpus, "clips", "toy-5.wav"));
  });

  it("refuses an id the corpus lacks, an empty list and a plain folder with one line each", () => {
    expect(() => listedClips([corpus], list("toy-0\nnope-1\n"))).toThrow(/1 clip\(s\) not in .*e\.g\. nope-1$/);
    expect(() => listedClips([corpus], list("# nothing\n"))).toThrow(/names no clips/);
    expect(() => listedClips([join(corpus, "clips")], list("toy-0\n"))).toThrow(/--clips names clips of a corpus/);
    expect(() => listedClips([corpus], join(corpus, "missing.txt"))).toThrow(/no such clip list/);
  });
});
