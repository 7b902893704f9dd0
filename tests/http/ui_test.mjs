// The web UI in headless Chromium (Debian's chromium, driven by playwright-core): upload a
// file through the page, ask, see a streamed answer with a source. Saves a screenshot.
// Usage: node ui_test.mjs BASE_URL FILE SCREENSHOT.png API_KEY
import { chromium } from "playwright-core";

const [base, file, shot, key] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const fail = async (msg) => { await page.screenshot({ path: shot, fullPage: true }); console.error(msg); await browser.close(); process.exit(1); };
const page = await browser.newPage({ viewport: { width: 390, height: 900 } }); // phone width
const external = [];
page.on("request", (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
await page.goto(base + "/");
// The key field: without it every API call is refused (401).
await page.fill("#api-key", key);
await page.press("#api-key", "Tab");
await page.fill("#new-collection", "ui");
await page.click("#create");
await page.waitForFunction(() => document.getElementById("collection").value === "ui");
await page.setInputFiles("#files", file);
try {
  await page.waitForSelector("#uploads li .ok", { timeout: 120000 });
} catch (e) { await fail("upload did not finish: " + await page.textContent("#uploads")); }
await page.fill("#question", "Where do hash maps store their data?");
await page.click("#ask");
try {
  await page.waitForFunction(() => document.getElementById("answer").textContent.includes("heap"), null, { timeout: 60000 });
  await page.waitForSelector("#sources li strong", { timeout: 60000 });
  await page.waitForFunction(() => document.getElementById("meta").textContent.includes("total"), null, { timeout: 60000 });
} catch (e) { await fail("no streamed answer with a source: " + await page.textContent("#answer-box")); }
const source = await page.textContent("#sources li strong");
if (!source.includes(file.split("/").pop())) await fail("source is not the uploaded file: " + source);
if (external.length) await fail("requests left the server: " + external.join(", "));
await page.screenshot({ path: shot, fullPage: true });
console.log(`web UI: uploaded, answered with source ${source}; screenshot ${shot}`);
await browser.close();
