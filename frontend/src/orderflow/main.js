// Entry point of the order page's graph (/orders/{order_id}): the blueprint version the order
// is pinned to (or a test run's draft), read-only, coloured by where the order has been.
// The page's timeline refreshes itself live (htmx morph); after each refresh the colours are
// read again from it. Clicking a step opens its latest run in the timeline.
import { nodeOf } from "../editor/convert.js";
import { setCatalogue } from "../editor/nodetypes.js";
import { paint } from "./paint.js";
import { pathOf, readTimeline } from "./progress.js";
import { createView } from "./view.js";

function boot() {
  const container = document.getElementById("order-graph");
  const data = document.getElementById("order-graph-data");
  if (!container || !data) return;
  const { blueprint, api_calls: calls, catalogue } = JSON.parse(data.textContent);
  setCatalogue(catalogue);
  const apiCalls = Object.fromEntries((calls || []).map((call) => [call.id, call]));
  const view = createView(container, blueprint, apiCalls);
  let path = pathOf(readTimeline());
  let drawn = "";

  function refresh() {
    const timeline = readTimeline();
    const key = JSON.stringify([timeline, view.graph.scale().sx]);
    if (key === drawn) return;
    drawn = key;
    path = pathOf(timeline);
    paint(view.graph, path, view.graph.scale().sx);
  }

  const where = () => path.hops.at(-1)?.[1] || [...path.latest.keys()].at(-1);
  view.fit(where());
  refresh();
  view.graph.on("scale", () => refresh());
  bindTip(view, container, () => path);
  view.graph.on("node:click", ({ node }) => openStep(nodeOf(node).id));
  document.addEventListener("htmx:after:swap", refresh);
  document.addEventListener("htmx:after:settle", refresh);
  let width = container.clientWidth;
  new ResizeObserver(() => {
    if (container.clientWidth === width) return;
    width = container.clientWidth;
    view.fit(where());
  }).observe(container);
  document.addEventListener("click", (event) => {
    if (event.target.closest?.("[data-graph-fit]")) view.fit(null, true);
  });
  window.waybillOrderGraph = view;
  container.dataset.ready = "true";
}

/** Unfold the node's latest step run in the timeline and bring it into view. */
function openStep(nodeId) {
  const items = document.querySelectorAll(`#timeline .tl-item[data-node="${CSS.escape(nodeId)}"]`);
  const item = items[items.length - 1];
  if (!item) return;
  const details = item.querySelector("details");
  if (details) details.open = true;
  item.scrollIntoView({ block: "center", behavior: "smooth" });
  item.classList.remove("tl-flash");
  void item.offsetWidth; // restart the highlight's animation
  item.classList.add("tl-flash");
}

function bindTip(view, container, current) {
  const tip = document.createElement("div");
  tip.className = "graph-tip";
  tip.hidden = true;
  container.parentElement.append(tip);
  view.graph.on("node:mouseenter", ({ node, e }) => {
    const { id, label } = nodeOf(node);
    const step = current().latest.get(id);
    const name = document.createElement("strong");
    name.textContent = label ? `${label} (${id})` : id;
    const what = document.createElement("span");
    what.textContent = step
      ? `${step.status}${step.attempt > 1 ? ` · attempt ${step.attempt}` : ""} · click to open`
      : current().final ? "not taken" : "not reached yet";
    tip.replaceChildren(name, what);
    const box = container.parentElement.getBoundingClientRect();
    tip.style.left = `${e.clientX - box.left + 12}px`;
    tip.style.top = `${e.clientY - box.top + 12}px`;
    tip.hidden = false;
  });
  view.graph.on("node:mouseleave", () => { tip.hidden = true; });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
