// The web UI's meetings page in headless Chromium: upload a real QMSum transcript through
// the page, see it listed, recall direct, activated and bridge memories with their turns
// and paths, get an answer from memory with a citation naming the meeting. Screenshot.
// Usage: node meetings_ui_test.mjs BASE_URL TRANSCRIPT.json SCREENSHOT.png API_KEY
import { chromium } from "playwright-core";

const [base, file, shot, key] = process.argv.slice(2);
const meeting = file.split("/").pop().replace(/\.json$/, "");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1000, height: 1200 } });
const fail = async (msg) => { await page.screenshot({ path: shot, fullPage: true }); console.error(msg); await browser.close(); process.exit(1); };
const external = [];
page.on("request", (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
page.on("pageerror", (e) => external.push(`script error: ${e.message}`));
await page.goto(base + "/meetings");
await page.fill("#api-key", key);
await page.press("#api-key", "Tab");
await page.setInputFiles("#t-file", file);
await page.fill("#t-domain", "product");
await page.click("#t-upload");
try {
  await page.waitForSelector("#t-status.ok", { timeout: 180000 });
  await page.waitForFunction((id) => [...document.querySelectorAll("#meetings tbody td strong")].some((e) => e.textContent === id), meeting, { timeout: 30000 });
} catch (e) { await fail("transcript not ingested: " + await page.textContent("#t-status")); }
const status = await page.textContent("#t-status");
if (!status.includes("added")) await fail("upload status: " + status);

await page.fill("#q-text", "What did the team decide about the remote control's features?");
await page.click("#q-search");
try {
  await page.waitForSelector("#results:not([hidden]) #r-direct li[data-memory]", { timeout: 60000 });
} catch (e) { await fail("no direct memories: " + await page.textContent("#q-meta")); }
const direct = await page.textContent("#r-direct li[data-memory] strong");
if (!direct.includes(meeting)) await fail("direct hit is not from the meeting: " + direct);
const activated = await page.$$("#r-activated li[data-memory]");
if (!activated.length) await fail("no activated memories: " + await page.textContent("#r-activated"));
const path = await page.textContent("#r-activated li[data-memory] .path");
if (!/#\d+ → #\d+/.test(path)) await fail("activated memory without a path: " + path);
const bridges = await page.$$("#r-bridges li[data-memory]");
if (bridges.length && !(await page.textContent("#r-bridges li[data-memory] .explanation")).trim()) await fail("bridge without explanation");
// The turns of the first direct hit, with speakers, unfold.
await page.click("#r-direct li[data-memory] summary");
const turns = await page.textContent("#r-direct li[data-memory] blockquote");
if (!turns.includes(":")) await fail("turns without speakers: " + turns);

await page.click("#q-answer");
try {
  await page.waitForSelector("#m-citations li strong", { timeout: 60000 });
  await page.waitForFunction(() => document.getElementById("q-meta").textContent.includes("total"), null, { timeout: 60000 });
} catch (e) { await fail("no answer from memory: " + await page.textContent("#m-answer-box")); }
const cite = await page.textContent("#m-citations li strong");
if (!cite.includes(meeting)) await fail("citation does not name the meeting: " + cite);
if (external.length) await fail("requests left the server or scripts failed: " + external.join(", "));
await page.screenshot({ path: shot, fullPage: true });
console.log(`meetings UI: ${meeting} uploaded; ${activated.length} activated, ${bridges.length} bridges; cited ${cite}; screenshot ${shot}`);
await browser.close();
