#!/usr/bin/env node
/**
 * End-to-end test of the built demo in headless Chromium (Debian's `chromium`,
 * driven by playwright-core). Fails on a page error, on a main-thread task over
 * 200 ms during a run (Long Tasks API), on a missing result, on a result left
 * on screen after the input changed, and on the input paths going wrong: a
 * file input, a bad file, a .fmac drop (good, corrupt, foreign), the microphone
 * (Chromium's fake device) and a denied microphone. Screenshots go to
 * test-output/demo/ (outside the served folder). Not part of `npm test`.
 *
 *   npm run demo:test                        # the test
 *   node scripts/test-demo.mjs --measure     # also first-run and warm speeds per decoder mode
 *   node scripts/test-demo.mjs --docs-screenshot docs/browser-demo.png
 */
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
// $CHROMIUM when set, else where Debian (chromium) and Ubuntu/Google packages put it.
const candidates = process.env.CHROMIUM ? [process.env.CHROMIUM] : ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const executablePath = candidates.find((p) => existsSync(p));
if (!executablePath) {
  console.error(`demo:test needs Chromium, not found at ${candidates.join(", ")}.\nOn Debian/Ubuntu: sudo apt-get install -y chromium (or set CHROMIUM=/path/to/chrome)`);
  process.exit(2);
}
if (!existsSync("demo/dist/index.html")) {
  console.error("demo/dist is missing: run `npm run build && npm run demo:build` first");
  process.exit(2);
}
const outDir = process.env.DEMO_TEST_OUT ?? "test-output/demo";
mkdirSync(outDir, { recursive: true });

const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
};

const server = spawn(process.execPath, ["scripts/serve-demo.mjs"], { env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((resolve, reject) => {
  server.stdout.on("data", (d) => {
    const m = /http:\/\/localhost:(\d+)\//.exec(String(d));
    if (m) resolve(`http://127.0.0.1:${m[1]}/`);
  });
  server.on("exit", (c) => reject(new Error(`demo server exited (${c})`)));
});

const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1000 } });
  const page = await context.newPage();
  // Long tasks, status lines and live blob URLs, recorded from before the page's own script runs.
  await page.addInitScript(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
    const live = new Set();
    const create = URL.createObjectURL.bind(URL);
    const revoke = URL.revokeObjectURL.bind(URL);
    URL.createObjectURL = (o) => {
      const u = create(o);
      live.add(u);
      return u;
    };
    URL.revokeObjectURL = (u) => {
      live.delete(u);
      revoke(u);
    };
    window.__liveBlobUrls = () => live.size;
    window.__statusLog = [];
    document.addEventListener("DOMContentLoaded", () => {
      const s = document.getElementById("status");
      new MutationObserver(() => window.__statusLog.push(s.textContent)).observe(s, { childList: true, characterData: true, subtree: true });
    });
  });
  page.on("console", (m) => m.type() === "error" && console.log("console error:", m.text()));
  page.on("pageerror", (e) => check(false, `no page error (${e.message})`));

  const status = () => page.textContent("#status");
  const waitStatus = async (re, what, timeout = 60000) => {
    try {
      await page.waitForFunction((src) => new RegExp(src).test(document.getElementById("status").textContent), re.source, { timeout });
      return true;
    } catch {
      check(false, `${what} (status: ${await status()})`);
      return false;
    }
  };
  const state = () => page.evaluate(() => ({ ...window.flowmacRun }));
  const controls = () =>
    page.evaluate(() => Object.fromEntries(["run", "cancel", "sample", "file", "mic", "kbps", "mode"].map((id) => [id, document.getElementById(id).disabled])));
  const resultsCleared = () =>
    page.evaluate(
      () =>
        document.getElementById("results").hidden &&
        document.getElementById("dlFmac").hidden &&
        !document.getElementById("dlFmac").href &&
        document.getElementById("specOut").width === 0 &&
        document.getElementById("statsOut").textContent === "" &&
        window.__liveBlobUrls() === 0,
    );

  /** Runs the current input with `mode`; checks the controls while it runs and the long tasks after. */
  async function runOnce(label, mode) {
    await page.selectOption("#mode", mode);
    await page.click("#run");
    await page.waitForFunction(() => window.flowmacRun.state !== "idle", null, { timeout: 10000 });
    const c = await controls();
    if ((await state()).state === "running") check(c.run && !c.cancel && c.sample && c.file && c.mic, `${label}: while running, Encode and the inputs are disabled and Cancel is enabled`);
    await page.waitForFunction(() => window.flowmacRun.state !== "running", null, { timeout: 600000 });
    const st = await state();
    check(st.state === "done", `${label}: finished (${await status()})`);
    const long = await page.evaluate(([s, e]) => window.__longTasks.filter((t) => t.start + t.duration > s && t.start < e && t.duration > 200), [st.start, st.end]);
    const at = (t) => `${t.duration.toFixed(0)} ms at +${(t.start - st.start).toFixed(0)} ms of ${(st.end - st.start).toFixed(0)}`;
    const steps = await page.evaluate(([s, e]) => performance.getEntriesByType("measure").filter((m) => m.name.startsWith("flowmac:") && m.startTime >= s && m.startTime <= e).map((m) => ({ name: m.name, start: m.startTime, duration: m.duration })), [st.start, st.end]);
    const drawn = steps.map((m) => `${m.name.slice(8)} ${at(m)}`).join(", ");
    check(long.length === 0, `${label}: no main-thread task over 200 ms during the run${long.length ? ` (${long.map(at).join(", ")}; drawing steps: ${drawn})` : ""}`);
    return st;
  }
  const canvasDrawn = (id) =>
    page.evaluate((id) => {
      const c = document.getElementById(id);
      if (!c.width) return false;
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
      return seen.size > 10;
    }, id);
  const x = (s, ms) => (ms ? (s / (ms / 1000)).toFixed(1) : "-");

  // 1. Load, code the first sample.
  const t0 = Date.now();
  await page.goto(base);
  await page.waitForFunction(() => window.flowmacReady === true && !document.getElementById("run").disabled, null, { timeout: 180000 });
  console.log(`model loaded and sample ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const first = await runOnce("sample, first run", "prior");
  const sum = first.summary;
  check(sum && sum.bytes > 40 && /kbit\/s/.test(await page.textContent("#statsOut")), "the result shows the .fmac size and bit rate");
  check(await page.evaluate(() => (window.__statusLog ?? []).some((s) => /\d+\/\d+ network calls/.test(s))), "progress messages were drawn during the run");
  check((await canvasDrawn("specIn")) && (await canvasDrawn("specOut")), "both spectrograms are drawn");
  const opusText = await page.textContent("#statsOpus");
  check(sum?.opusBytes > 0 || /Not available here/.test(opusText), `the Opus peer has a measured size or says why not (${sum?.opusBytes ?? sum?.opusWhy})`);
  if (sum?.opusBytes > 0) check(await canvasDrawn("specOpus"), "the Opus decode's spectrogram is drawn");
  check(await page.evaluate(() => !!document.getElementById("dlFmac").href && !!document.getElementById("dlWav").href), "download links are set");
  console.log(`first run: ${sum.bytes} bytes for ${sum.seconds.toFixed(2)} s; encode ${x(sum.seconds, sum.encodeMs)}x, decode (prior) ${x(sum.seconds, sum.decodeMs)}x real time; Opus ${sum.opusBytes ?? sum.opusWhy}`);
  await page.screenshot({ path: join(outDir, "finished.png"), fullPage: true });

  // 2. A/B: switching versions while playing keeps the position.
  await page.click("#abFlowmac");
  await page.click("#play");
  await page.waitForTimeout(700);
  const before = Number(await page.inputValue("#seek"));
  await page.click("#abOriginal");
  await page.waitForTimeout(300);
  const after = Number(await page.inputValue("#seek"));
  check(after >= before && after < before + 1.5 && (await page.isChecked("#abOriginal")), `A/B switch keeps the position (${before.toFixed(2)} s -> ${after.toFixed(2)} s)`);
  await page.click("#play"); // pause

  if (opt("--docs-screenshot")) {
    const path = opt("--docs-screenshot");
    await runOnce("a warm run for the docs screenshot", "prior");
    await page.locator("#results").screenshot({ path });
    console.log(`docs screenshot: ${path} (${(statSync(path).size / 1024).toFixed(0)} KB)`);
  }

  // 3. Speeds, first run above, warm runs here.
  if (args.includes("--measure")) {
    for (const mode of ["prior", "prior", "lc", "lc", "8", "32"]) {
      const s = (await runOnce(`warm ${mode}`, mode)).summary;
      console.log(`warm ${mode}: encode ${x(s.seconds, s.encodeMs)}x, decode ${x(s.seconds, s.decodeMs)}x real time`);
    }
  }

  // 4. Cancel: a slow decode stops, nothing is kept, and the page can run again.
  const fmacBytes = await page.evaluate(async () => Array.from(new Uint8Array(await (await fetch(document.getElementById("dlFmac").href)).arrayBuffer())));
  await page.selectOption("#mode", "32");
  await page.click("#run");
  await waitStatus(/decoding… [1-9]\d*\/\d+ network calls/, "a 32-step run reports decoding progress", 120000);
  await page.click("#cancel");
  await page.waitForFunction(() => window.flowmacRun.state !== "running", null, { timeout: 30000 });
  check((await state()).state === "cancelled" && (await resultsCleared()) && !(await controls()).run, "Cancel stops the run, keeps nothing and re-enables Encode");

  // 5. A finished result goes away when the input changes.
  await runOnce("sample, LC", "lc");
  await page.selectOption("#sample", "samples/music.wav");
  check(await resultsCleared(), "changing the sample clears the result, its downloads and blob URLs at once");
  await waitStatus(/input: samples\/music\.wav/, "the new sample is taken");

  // 6. A file input.
  await page.setInputFiles("#file", "samples/speech-nl.wav");
  await waitStatus(/input: speech-nl\.wav/, "a chosen file becomes the input");
  check((await page.inputValue("#sample")) === "", "choosing a file unselects the sample");
  await runOnce("file input, LC", "lc");

  // 7. A bad file: a one-line message, nothing selected, Encode disabled, no stale result.
  await page.setInputFiles("#file", { name: "bad.wav", mimeType: "audio/wav", buffer: Buffer.from("RIFF\x10\x00\x00\x00WAVEjunkjunkjunkjunk") });
  await waitStatus(/cannot decode bad\.wav/, "a bad file is refused with a message");
  const c7 = await controls();
  check(c7.run && (await page.inputValue("#sample")) === "" && (await page.evaluate(() => document.getElementById("file").files.length)) === 0 && (await resultsCleared()), "after a bad file nothing is selected, Encode is disabled and the old result is gone");
  check(!(await status()).includes("\n"), "the bad-file message is one line");

  // 8. Dropping .fmac files: ours decodes; a corrupt one and a foreign one get the codec's one-line message.
  const drop = async (name, bytes) => {
    const dt = await page.evaluateHandle(([n, b]) => {
      const d = new DataTransfer();
      d.items.add(new File([new Uint8Array(b)], n));
      return d;
    }, [name, bytes]);
    await page.dispatchEvent("#drop", "drop", { dataTransfer: dt });
  };
  await page.selectOption("#mode", "lc");
  await drop("coded.fmac", fmacBytes);
  await page.waitForFunction(() => window.flowmacRun.state === "running" || window.flowmacRun.state === "done", null, { timeout: 10000 });
  await page.waitForFunction(() => window.flowmacRun.state !== "running", null, { timeout: 120000 });
  check((await state()).state === "done" && (await canvasDrawn("specOut")) && (await page.isHidden("#colIn")), `a dropped .fmac decodes (${await status()})`);
  const corrupt = fmacBytes.slice();
  corrupt[60] ^= 0x5a;
  await drop("corrupt.fmac", corrupt);
  await waitStatus(/corrupt\.fmac: corrupt (or truncated )?\.fmac file \(CRC mismatch\)/, "a corrupt .fmac gets the CRC message");
  check((await controls()).run && (await resultsCleared()) && !(await status()).includes("\n"), "after a corrupt .fmac: one line, Encode disabled, no result");
  await drop("notes.fmac", Array.from(Buffer.from("these are not codes\n")));
  await waitStatus(/notes\.fmac: not a \.fmac file/, "a foreign file named .fmac gets the bad-magic message");
  // A valid stream from another model: the same bytes under another model id (header bytes 8-15), CRC (the last 4) recomputed.
  // Rewritten in place, since an entropy-coded stream cannot be re-read without its model's code tables.
  const { crc32 } = await import("../dist/src/bitstream/crc32.js");
  const other = Uint8Array.from(fmacBytes);
  other.set([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], 8);
  new DataView(other.buffer).setUint32(other.length - 4, crc32(other.subarray(0, other.length - 4)), true);
  await drop("other-model.fmac", Array.from(other));
  await waitStatus(/other-model\.fmac: made by a different model/, "another model's .fmac is refused");
  check((await controls()).run && !(await status()).includes("\n"), "after another model's .fmac: one line, Encode disabled");

  // 9. The microphone (Chromium's fake device), then a denied one.
  await page.click("#mic");
  await waitStatus(/recording… /, "recording starts");
  await page.waitForTimeout(1500);
  await page.click("#mic");
  await waitStatus(/input: microphone recording, \d/, "the recording becomes the input");
  await page.evaluate(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
  });
  await page.click("#mic");
  await waitStatus(/microphone access was denied/, "a denied microphone gets a message");
  check((await controls()).run, "after a denied microphone, Encode is disabled");

  // 10. Labels and phone width.
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, button, progress")]
      .filter((e) => !((e.labels && e.labels.length) || e.getAttribute("aria-label") || (e.tagName === "BUTTON" && e.textContent.trim())))
      .map((e) => e.id || e.tagName),
  );
  check(unlabelled.length === 0, `every control has a label${unlabelled.length ? ` (missing: ${unlabelled.join(", ")})` : ""}`);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.selectOption("#sample", "samples/speech-ru.wav");
  await waitStatus(/input: samples\/speech-ru/, "sample taken at phone width");
  await runOnce("phone width, LC", "lc");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `no horizontal scrolling at 390 px (${overflow} px over)`);
  await page.screenshot({ path: join(outDir, "phone.png"), fullPage: true });
  console.log(`screenshots in ${outDir}/`);
} catch (e) {
  check(false, `the test ran to the end (${e.message.split("\n")[0]})`);
} finally {
  await browser.close();
  server.kill();
}
console.log(failures.length ? `\n${failures.length} check(s) failed` : "\nall demo checks passed");
process.exit(failures.length ? 1 : 0);
