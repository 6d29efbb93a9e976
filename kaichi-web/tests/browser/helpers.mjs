// Shared by the browser tests: a static server for kaichi-web/ and a
// wallet stand-in with Phantom's API.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };

// kaichi-web/ over HTTP on 127.0.0.1 (the page imports ../pkg/web).
export function serve(root) {
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname));
    try {
      const body = await readFile(join(root, path));
      response.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// A wallet stand-in with Phantom's API, in the page, backed by the test seed.
export function installWallet(seedHex, publicKeyBase58) {
  const bytes = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
  const keyPromise = crypto.subtle.importKey(
    "pkcs8", bytes("302e020100300506032b657004220420" + seedHex), { name: "Ed25519" }, false, ["sign"]);
  const publicKey = { toString: () => publicKeyBase58, toBase58: () => publicKeyBase58 };
  window.solana = {
    isPhantom: true,
    publicKey: null,
    async connect() { this.publicKey = publicKey; return { publicKey }; },
    async signMessage(message) {
      window.__signed = (window.__signed ?? 0) + 1;
      const signature = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, await keyPromise, message));
      return { signature, publicKey };
    },
  };
}


export const launchOptions = (executablePath) => ({
  executablePath,
  headless: true,
  // Loopback WebRTC: the tests' nodes listen on 127.0.0.1 only.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--allow-loopback-in-peer-connection"],
});
