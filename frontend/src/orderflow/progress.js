// Where an order has been, read from its timeline on the page (the one source the server
// renders and refreshes): each node's latest step-run status, and the hops between
// consecutive steps, which are the edges of the path taken.

const FINAL = new Set(["completed", "failed", "cancelled"]);

/** The timeline's steps (oldest first), the step it goes on with, and the order's state. */
export function readTimeline(doc = document) {
  const steps = [...doc.querySelectorAll("#timeline .tl-item[data-status]")].map((item) => ({
    node: item.dataset.node, status: item.dataset.status, attempt: Number(item.dataset.attempt || 1),
  }));
  const next = doc.querySelector("#timeline .tl-next")?.dataset.node || null;
  const state = doc.querySelector(".order-head")?.dataset.orderState || "";
  return { steps, next, state };
}

/** `latest`: node id → { status, attempt }; `hops`: [source, target] pairs in order. */
export function pathOf({ steps, next, state }) {
  const latest = new Map();
  for (const step of steps) latest.set(step.node, { status: step.status, attempt: step.attempt });
  const final = FINAL.has(state);
  if (next && !final) latest.set(next, { status: state === "pending" ? "running" : state, attempt: 1 });
  const visited = [...steps.map((step) => step.node), ...(next && !final ? [next] : [])];
  const hops = [];
  visited.forEach((node, index) => {
    const before = visited[index - 1];
    if (before && before !== node) hops.push([before, node]);
  });
  return { latest, hops, final };
}
