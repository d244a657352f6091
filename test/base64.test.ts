import { describe, expect, it } from "vitest";
import { base64ToBytes, bytesToBase64 } from "../src/util/base64.js";

describe("base64", () => {
  it("matches Node's Buffer both ways for every length mod 3", () => {
    for (const n of [0, 1, 2, 3, 4, 5, 255, 256, 1000, 65537]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 24);
      const ref = Buffer.from(bytes).toString("base64");
      expect(bytesToBase64(bytes)).toBe(ref);
      expect(Array.from(base64ToBytes(ref))).toEqual(Array.from(bytes));
      expect(Array.from(base64ToBytes(ref.replace(/=+$/, "")))).toEqual(Array.from(bytes));
    }
  });

  it("refuses characters outside the alphabet and impossible lengths", () => {
    expect(() => base64ToBytes("ab$d")).toThrow(/character at 2/);
    expect(() => base64ToBytes("abcde")).toThrow(/length/);
    expect(() => base64ToBytes("ab===")).toThrow(/length/);
  });
});
