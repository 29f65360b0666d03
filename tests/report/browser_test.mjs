// Opens a FERLab report from disk in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) and checks what a reader would see:
//   - the page logs no console error, throws no page error, opens no dialog (a hostile run
//     name must not run as script) and requests nothing but the file itself and data: URIs;
//   - every one of the nine sections exists;
//   - every chart rendered as SVG with at least one drawn mark (paths, rects, lines, symbols,
//     texts under vega's `g.role-mark` groups);
//   - all charts finish within --max-ms (time from navigation start to the last chart).
// Writes a full-page screenshot and prints one JSON line with the numbers.
//
// usage: node tests/report/browser_test.mjs REPORT.html [--screenshot PNG]
//        [--max-ms N] [--max-bytes N] [--expect-text TEXT]...
// Exit codes: 0 pass, 1 a check failed, 77 chromium not found (ctest SKIP_RETURN_CODE).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
let report = null;
let screenshot = 'reports/screenshot.png';
let maxMs = Infinity;
let maxBytes = Infinity;
const expectTexts = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--screenshot') screenshot = args[++i];
  else if (args[i] === '--max-ms') maxMs = Number(args[++i]);
  else if (args[i] === '--max-bytes') maxBytes = Number(args[++i]);
  else if (args[i] === '--expect-text') expectTexts.push(args[++i]);
  else report = args[i];
}
if (!report) {
  console.error('usage: node browser_test.mjs REPORT.html [--screenshot PNG] [--max-ms N]');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.log(`SKIP: ${executablePath} not found (apt-get install chromium)`);
  process.exit(77);
}
const { chromium } = await import('playwright-core');

const SECTIONS = ['summary', 'runs', 'curves', 'effects', 'per-class', 'significance', 'seeds',
                  'errors', 'provenance'];
const failures = [];
const reportPath = resolve(report);
const bytes = statSync(reportPath).size;
if (bytes > maxBytes) failures.push(`report is ${bytes} bytes, limit ${maxBytes}`);

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let result = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('console', message => {
    if (message.type() === 'error') failures.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', error => failures.push(`page error: ${error.message}`));
  page.on('dialog', dialog => {
    failures.push(`dialog opened: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  const url = pathToFileURL(reportPath).href;
  page.on('request', request => {
    const target = request.url();
    if (target !== url && !target.startsWith('data:')) failures.push(`network request: ${target}`);
  });
  await page.goto(url, { waitUntil: 'load', timeout: 60000 });
  await page.waitForFunction(() => document.body.dataset.charts, null, { timeout: 60000 });
  const state = await page.evaluate(() => ({
    charts: document.body.dataset.charts,
    chartsMs: window.ferlabRenderMs,
    doneMs: window.ferlabDoneAt,
  }));
  if (state.charts !== 'done') failures.push(`charts state: ${state.charts}`);

  for (const id of SECTIONS) {
    const found = await page.$(`section#${id} h2`);
    if (!found) failures.push(`section #${id} missing`);
  }
  // Drawn marks per chart: the children of vega's mark groups (axes and legends excluded,
  // they are role-axis / role-legend groups).
  const marks = await page.$$eval('div.chart', divs => divs.map(div => ({
    id: div.id,
    svg: div.querySelector('svg') !== null,
    marks: div.querySelectorAll(
      'g.role-mark > path, g.role-mark > rect, g.role-mark > line, g.role-mark > text, ' +
      'g.role-mark > g > path').length,
  })));
  for (const chart of marks) {
    if (!chart.svg) failures.push(`chart ${chart.id}: no SVG`);
    else if (chart.marks === 0) failures.push(`chart ${chart.id}: no marks drawn`);
  }
  if (marks.length === 0) failures.push('no charts in the page');
  const text = await page.evaluate(() => document.body.innerText);
  for (const expected of expectTexts) {
    if (!text.includes(expected)) failures.push(`text not shown: ${expected}`);
  }
  if (state.doneMs > maxMs) failures.push(`render took ${state.doneMs.toFixed(0)} ms, limit ${maxMs}`);
  await page.screenshot({ path: screenshot, fullPage: true });
  result = {
    report: reportPath,
    bytes,
    render_ms: Math.round(state.doneMs ?? -1),
    charts_ms: Math.round(state.chartsMs ?? -1),
    charts: marks.length,
    marks: Object.fromEntries(marks.map(chart => [chart.id, chart.marks])),
    screenshot,
  };
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
if (failures.length > 0) {
  for (const failure of failures) console.error(`FAIL: ${failure}`);
  process.exit(1);
}
console.log('PASS');
