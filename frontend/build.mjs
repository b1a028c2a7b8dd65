// Bundles the browser code into backend/static/build/ (gitignored): `npm run build`.
//   htmx.js    htmx 4 with its SSE extension, for every page
//   editor.js  the blueprint editor island (X6), for /blueprints/{id}
//   pages.js   small behaviours of the other pages (the orders list's selection)
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

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
