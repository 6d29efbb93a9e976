// The example page on the network: headless Chromium, the page's libp2p
// (js-libp2p) dials a `kaichi node --relay` over WebRTC-direct (and over
// WebSockets when it comes back), and the page
// and a `kaichi node` user (Bob, who answers a few seconds later) exchange
// DMs with delivery receipts; Bob's answer, sent while the page is
// offline, is collected from the relay when it comes back. Run by
// kaichi-cli/tests/browser.rs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import puppeteer from "puppeteer-core";
import { serve, installWallet, launchOptions } from "./helpers.mjs";

const fixture = JSON.parse(await readFile(process.env.KAICHI_FIXTURE, "utf8"));

test("the page and a native user talk through a Kaichi node", async () => {
  const server = await serve(fixture.root);
  const browser = await puppeteer.launch(launchOptions(fixture.chromium));
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    await page.setViewport({ width: 1000, height: 1300 });
    await page.evaluateOnNewDocument(installWallet, fixture.alice.seedHex, fixture.alice.wallet);
    await page.goto(`http://127.0.0.1:${server.address().port}/example/index.html`);
    await page.waitForSelector("body[data-ready=true]");
    await page.click("#connect");
    await page.waitForFunction(() => document.querySelector("#ipns-name").textContent !== "");
    // The name `kaichi id show` gives for the same keypair.
    assert.equal(await page.$eval("#ipns-name", (e) => e.textContent), fixture.alice.ipnsName);

    await page.$eval("#contact-document", (e, v) => { e.value = v; }, fixture.bob.documentHex);
    await page.click("#add-contact");
    await page.waitForSelector("#chat:not([hidden])");

    await page.$eval("#relay", (e, v) => { e.value = v; }, fixture.relayWebrtc);
    await page.click("#go-online");
    await page.waitForFunction(() => document.querySelector("#net-status").textContent.startsWith("online"),
      { timeout: 20000 });
    const via = () => page.$eval("#net-status", (e) => e.textContent);
    assert.match(await via(), /\/webrtc-direct\/certhash\//);
    // Let the gossipsub mesh form through the relay.
    await new Promise((r) => setTimeout(r, 1500));

    await page.type("#text", "hi Bob, over the network");
    await page.keyboard.press("Enter");
    // Bob's node stores it: his receipt marks it delivered, live.
    await page.waitForFunction(
      () => document.querySelector("#messages li.mine .meta")?.textContent.includes("delivered"),
      { timeout: 30000 });
    // The page goes away before Bob answers (he takes 3 s); the relay
    // holds his answer, and hands it over when the page is back.
    await page.click("#go-offline");
    await new Promise((r) => setTimeout(r, 5000));
    const theirs = () => page.$$eval("#messages li.theirs", (l) => l.map((li) => li.textContent));
    assert.deepEqual(await theirs(), []);
    await page.$eval("#relay", (e, v) => { e.value = v; }, fixture.relay);
    await page.click("#go-online");
    // Once the relay's mailbox is taken, the answer is there (with whatever
    // else it held: Bob's re-sends, receipts).
    await page.waitForSelector("body[data-caught-up]", { timeout: 30000 });
    assert.ok(Number(await page.$eval("body", (b) => b.dataset.caughtUp)) >= 1);
    assert.match(await via(), /\/ws\//);
    assert.ok((await theirs()).some((t) => t.includes("hello page, from native Bob")), await theirs());
    await page.screenshot({ path: fixture.screenshot, fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
