#!/usr/bin/env node
/** A static file server for demo/dist on http://localhost:8080 (loopback only; PORT=0 picks a free port). */
import { createServer } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../demo/dist/", import.meta.url));
const port = Number(process.env.PORT ?? 8080);
const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".wav": "audio/wav", ".onnx": "application/octet-stream" };
if (!existsSync(root)) {
  console.error("demo/dist does not exist: run `npm run demo:build` first");
  process.exit(1);
}
const server = createServer((req, res) => {
  const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
  const file = path.endsWith("/") ? join(path, "index.html") : path;
  if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end("not found");
    return;
  }
  res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" });
  res.end(readFileSync(file));
});
server.listen(port, "127.0.0.1", () => console.log(`FlowMAC demo: http://localhost:${server.address().port}/`));
