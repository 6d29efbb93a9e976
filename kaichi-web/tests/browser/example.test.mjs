// The example page in headless Chromium (Debian's), driven by
// puppeteer-core: run by tests/browser.rs with KAICHI_FIXTURE (what the
// native crates computed) and KAICHI_OUT (what the page made, checked
// natively after).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile, writeFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import puppeteer from "puppeteer-core";

const fixture = JSON.parse(await readFile(process.env.KAICHI_FIXTURE, "utf8"));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };

// kaichi-web/ over HTTP on 127.0.0.1 (the page imports ../pkg/web).
function serve(root) {
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
function installWallet(seedHex, publicKeyBase58) {
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

test("the example page: wallet, identity, a conversation kept across a reload", async () => {
  const server = await serve(fixture.root);
  const url = `http://127.0.0.1:${server.address().port}/example/index.html`;
  const browser = await puppeteer.launch({
    executablePath: fixture.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const out = {};
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.setViewport({ width: 1000, height: 1100 });
    await page.evaluateOnNewDocument(installWallet, fixture.alice.seedHex, fixture.alice.wallet);
    const connect = async () => {
      await page.goto(url);
      await page.waitForSelector("body[data-ready=true]");
      await page.click("#connect");
      await page.waitForFunction(() => document.querySelector("#ipns-name").textContent !== "");
    };
    await connect();
    const text = (selector) => page.$eval(selector, (e) => e.textContent);
    assert.equal(await text("#ipns-name"), fixture.alice.ipnsName);
    assert.equal(await text("#peer-id"), fixture.alice.peerId);

    await page.click("#make-document");
    await page.waitForFunction(() => document.querySelector("#my-document").value !== "");
    out.documentHex = await page.$eval("#my-document", (e) => e.value);

    await page.$eval("#contact-document", (e, v) => { e.value = v; }, fixture.bob.documentHex);
    await page.click("#add-contact");
    await page.waitForSelector("#chat:not([hidden])");
    await page.$eval("#incoming", (e, v) => { e.value = v; }, fixture.bob.entryHex);
    await page.click("details summary");
    await page.click("#receive");
    await page.waitForFunction(() => document.querySelectorAll("#messages li").length === 1);
    assert.match(await text("#messages li.theirs"), /hello from native Bob/);

    await page.type("#text", "hi Bob, from Chromium");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("#messages li").length === 2);
    out.replyHex = await page.$eval("#outgoing", (e) => e.value);
    out.replyCid = await page.$eval("#outgoing", (e) => e.dataset.cid);

    // A bad entry is refused with the reason, and nothing changes.
    await page.$eval("#incoming", (e) => { e.value = "a16474657374"; });
    await page.click("#receive");
    await page.waitForFunction(() => document.querySelector("#error").textContent !== "");
    assert.equal(await page.$$eval("#messages li", (l) => l.length), 2);

    // Kept in IndexedDB: after a reload and a new signature, all is there.
    await connect();
    await page.waitForSelector("#conversation-list li");
    await page.click("#conversation-list li");
    await page.waitForFunction(() => document.querySelectorAll("#messages li").length === 2);
    assert.match(await text("#messages li.mine"), /hi Bob, from Chromium/);
    await page.screenshot({ path: fixture.screenshot, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
    await writeFile(process.env.KAICHI_OUT, JSON.stringify(out));
  }
});
