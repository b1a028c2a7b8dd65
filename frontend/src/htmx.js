// htmx 4 for every page, plus its SSE extension (registered as `sse`).
// The extension reads the global `htmx`, which htmx.esm.js sets on window before this runs.
import "htmx.org/dist/htmx.esm.js";
import "htmx.org/dist/ext/hx-sse.js";
