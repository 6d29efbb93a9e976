// Opens example/bench.html in headless Chromium and prints its results
// (JSON) on stdout: run by `cargo bench -p kaichi-web --bench browser`.
import puppeteer from "puppeteer-core";
import { serve, launchOptions } from "./helpers.mjs";

const server = await serve(process.env.KAICHI_WEB_ROOT);
const browser = await puppeteer.launch(launchOptions("/usr/bin/chromium"));
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/example/bench.html`);
  await page.waitForSelector("body[data-done=true]", { timeout: 120000 });
  console.log(await page.$eval("#results", (e) => e.textContent));
} finally {
  await browser.close();
  server.close();
}
