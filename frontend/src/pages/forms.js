// GET forms marked `data-drop-empty` leave their blank fields out of the URL, so a filter
// reads `/orders?state=failed` rather than `/orders?order_id=&blueprint=&…&state=failed`.

export function initForms() {
  document.addEventListener("htmx:config:request", (event) => {
    const { ctx } = event.detail || {};
    const form = ctx?.sourceElement?.closest?.("[data-drop-empty]");
    if (!form || ctx.request.method !== "GET" || !(ctx.request.body instanceof FormData)) return;
    for (const [key, value] of [...ctx.request.body.entries()]) {
      if (value === "") ctx.request.body.delete(key);
    }
  });
}
