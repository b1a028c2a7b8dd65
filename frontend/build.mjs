// Bundles the browser code into backend/static/build/ (gitignored): `npm run build`.
//   htmx.js    htmx 4 with its SSE extension, for every page
//   editor.js  the blueprint editor island (X6), for /blueprints/{id}
//   codefield.js  its code fields (CodeMirror), which editor.js loads after its first drawing
//   pages.js   small behaviours of the other pages (the orders list's selection)
//   orderflow.js  the order page's read-only graph (X6 without its plugins: the editor's
//              shapes on `@antv/x6/es/graph`, about a quarter smaller than the whole package)
// `node frontend/build.mjs --watch` rebuilds on change.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const watch = process.argv.includes("--watch");

const options = {
  absWorkingDir: root,
  entryPoints: {
    htmx: "frontend/src/htmx.js",
    editor: "frontend/src/editor/main.js",
    codefield: "frontend/src/editor/code/bundle.js",
    pages: "frontend/src/pages.js",
  },
  outdir: "backend/static/build",
  bundle: true,
  format: "iife",
  target: ["es2020"],
  minify: !watch,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "info",
};

// `@antv/x6` itself (not its subpaths, which shapes.js imports from) as X6's graph alone
const graphOnly = {
  name: "x6-graph-only",
  setup(build) {
    build.onResolve({ filter: /^@antv\/x6$/ }, () => ({ path: path.join(root, "node_modules/@antv/x6/es/graph/index.js") }));
  },
};

const orderflow = {
  ...options,
  entryPoints: { orderflow: "frontend/src/orderflow/main.js" },
  plugins: [graphOnly],
};

if (watch) {
  for (const build of [options, orderflow]) await (await esbuild.context(build)).watch();
} else {
  await Promise.all([esbuild.build(options), esbuild.build(orderflow)]);
}
