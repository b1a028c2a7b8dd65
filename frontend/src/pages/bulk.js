// The orders list's selection: "select page", the count of ticked orders, buttons that need a
// selection. While orders are ticked (or the bulk dialog is open) live refreshes wait, so rows
// never move under the pointer; the held-back refresh runs once the selection is cleared.

const ROWS = 'input[name="order_ids"]';

function ticked() {
  return [...document.querySelectorAll(`${ROWS}:checked`)];
}

function dialogOpen() {
  return Boolean(document.getElementById("bulk-dialog")?.open);
}

export function initBulk() {
  if (!document.getElementById("orders-results")) return;
  let heldBack = false;

  function show() {
    const count = ticked().length;
    const all = document.querySelectorAll(ROWS).length;
    const label = document.querySelector("[data-selected-count]");
    if (label) label.textContent = count ? `${count} selected` : "No orders selected";
    for (const button of document.querySelectorAll("[data-needs-selection]")) button.disabled = !count;
    const box = document.querySelector("[data-select-all]");
    if (box) {
      box.checked = count > 0 && count === all;
      box.indeterminate = count > 0 && count < all;
    }
    document.body.classList.toggle("has-selection", count > 0);
  }

  function refreshIfHeld() {
    if (!heldBack || ticked().length || dialogOpen()) return;
    heldBack = false;
    document.body.dispatchEvent(new CustomEvent("orders-changed", { bubbles: true }));
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches?.("[data-select-all]")) {
      for (const box of document.querySelectorAll(ROWS)) box.checked = target.checked;
    }
    if (target.matches?.(`${ROWS}, [data-select-all]`)) {
      show();
      refreshIfHeld();
    }
  });

  document.addEventListener("htmx:before:request", (event) => {
    const source = event.detail?.ctx?.sourceElement;
    if (source?.id !== "orders-refresh") return;
    if (ticked().length || dialogOpen()) {
      heldBack = true;
      event.preventDefault();
    }
  });

  // A bulk action finished (the server's HX-Trigger): its orders are done with, untick them.
  document.addEventListener("orders-changed", () => {
    if (!dialogOpen()) return;
    for (const box of ticked()) box.checked = false;
    heldBack = true;
    show();
  });

  document.getElementById("bulk-dialog")?.addEventListener("close", refreshIfHeld);
  document.addEventListener("htmx:after:swap", show);
  show();
}
