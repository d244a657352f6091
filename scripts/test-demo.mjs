#!/usr/bin/env node
/**
 * End-to-end check of the built demo in headless Chromium (Debian package `chromium`,
 * driven by playwright-core): load the page, code the first sample, read the
 * status line, take a screenshot. Not part of `npm test` (it needs a browser).
 */
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
const server = spawn("node", ["scripts/serve-demo.mjs"], { env: { ...process.env, PORT: "8099" }, stdio: "inherit" });
await new Promise((r) => setTimeout(r, 800));
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"] });
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.log("console:", m.text()));
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  const fetched = [];
  page.on("requestfinished", (r) => fetched.push(new URL(r.url()).pathname));
  await page.goto("http://127.0.0.1:8099/");
  await page.waitForFunction(() => window.flowmacReady === true, null, { timeout: 120000 });
  await page.click("#run");
  await page.waitForFunction(() => /kbit\/s/.test(document.getElementById("status").textContent), null, { timeout: 300000 });
  console.log("status:", await page.textContent("#status"));
  // The encoder's mel front end should run on PFFFT (wasm SIMD), as in Node.
  console.log("PFFFT wasm loaded:", fetched.includes("/pffft.wasm"));
  await page.screenshot({ path: process.env.SCREENSHOT ?? "demo/dist/screenshot.png", fullPage: true });
} finally {
  await browser.close();
  server.kill();
}
