// Small behaviours of the server-rendered pages (the editor has its own bundle).
import { initBulk } from "./pages/bulk.js";
import { initForms } from "./pages/forms.js";

function boot() {
  initForms();
  initBulk();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
