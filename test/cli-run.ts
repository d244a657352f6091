/** Running the built CLI (bin/flowmac.js) in a child process, for the CLI tests. */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const BIN = fileURLToPath(new URL("../bin/flowmac.js", import.meta.url));

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/** The environment of a CLI run: its ONNX cache inside `dir`, no progress bars. */
export function cliEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, FLOWMAC_CACHE: join(dir, "cache"), FLOWMAC_QUIET: "1" };
}

/** Runs `flowmac ...args` to completion. */
export function runCli(dir: string, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: cliEnv(dir) });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Starts `flowmac ...args` without waiting for it. */
export function startCli(dir: string, ...args: string[]) {
  return spawn(process.execPath, [BIN, ...args], { env: cliEnv(dir), stdio: ["ignore", "pipe", "pipe"] });
}

/** A failure is one line on stderr, with a non-zero exit, no stack trace, no output file and no temporary left in `dir`. */
export function expectCleanFailure(dir: string, r: CliResult, pattern: RegExp, output?: string): void {
  expect(r.code).not.toBe(0);
  expect(r.err.trim().split("\n")).toHaveLength(1);
  expect(r.err).toMatch(pattern);
  expect(r.err).not.toMatch(/\bat .*\.js:\d+/);
  if (output) expect(existsSync(output)).toBe(false);
  expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
}
