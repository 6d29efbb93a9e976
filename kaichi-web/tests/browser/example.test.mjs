// The example page in headless Chromium (Debian's), driven by
// puppeteer-core: run by tests/browser.rs with KAICHI_FIXTURE (what the
// native crates computed) and KAICHI_OUT (what the page made, checked
// natively after).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import puppeteer from "puppeteer-core";
import { serve, installWallet, launchOptions } from "./helpers.mjs";

const fixture = JSON.parse(await readFile(process.env.KAICHI_FIXTURE, "utf8"));
test("the example page: wallet, identity, a conversation kept across a reload", async () => {
  const server = await serve(fixture.root);
  const url = `http://127.0.0.1:${server.address().port}/example/index.html`;
  const browser = await puppeteer.launch(launchOptions(fixture.chromium));
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
