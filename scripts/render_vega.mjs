#!/usr/bin/env node
// Renders Vega-Lite specs to SVG files without a browser, for `ferlab plot`
// (framework/report/FigureRenderer.cpp). Vega-Lite compiles each spec to Vega, a headless
// Vega View (renderer "none") draws it as SVG text: no canvas package is needed.
//
// usage: node scripts/render_vega.mjs JOBS.json [NODE_MODULES]
//   JOBS.json: [{"spec": <Vega-Lite spec>, "svg": "path/to/figure.svg"}, ...]
//   NODE_MODULES: the folder holding vega and vega-lite (default: ../node_modules beside
//   this script), as installed by scripts/setup.sh from the pinned package-lock.json.
// Exit status: 0 ok, 2 usage, 3 vega or vega-lite missing, 1 a spec failed to render.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [jobsPath, modulesArg] = process.argv.slice(2);
if (!jobsPath) {
  console.error('usage: node render_vega.mjs JOBS.json [NODE_MODULES]');
  process.exit(2);
}
const modules = resolve(modulesArg ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules'));
// Resolving from a file inside the folder makes require() search that folder itself.
const require = createRequire(join(modules, 'render_vega.cjs'));

function load(name) {
  try {
    return require(name);
  } catch (error) {
    console.error(`${name} not found in ${modules} (${error.code ?? error.message}): run scripts/setup.sh`);
    process.exit(3);
  }
}
const vega = load('vega');
const vegaLite = load('vega-lite');

const jobs = JSON.parse(readFileSync(jobsPath, 'utf8'));
for (const job of jobs) {
  try {
    const compiled = vegaLite.compile(job.spec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
    writeFileSync(job.svg, await view.toSVG());
    view.finalize();
  } catch (error) {
    console.error(`${job.svg}: ${error.message}`);
    process.exit(1);
  }
}
