// Where an order has been, read from its timeline on the page (the one source the server
// renders and refreshes): each node's latest step-run status, and the hops between
// consecutive steps, which are the edges of the path taken.

const FINAL = new Set(["completed", "failed", "cancelled"]);

/** The timeline's steps (oldest first, each with the branch it ran in), the steps it goes on
 * with (one per live branch inside a parallel), and the order's state. */
export function readTimeline(doc = document) {
  const steps = [...doc.querySelectorAll("#timeline .tl-item[data-status]")].map((item) => ({
    node: item.dataset.node, lane: item.dataset.lane || "", status: item.dataset.status,
    attempt: Number(item.dataset.attempt || 1),
  }));
  const next = [...doc.querySelectorAll("#timeline .tl-next")].map((item) => ({
    node: item.dataset.node, lane: item.dataset.lane || "",
    status: item.querySelector("[data-state]")?.dataset.state || "",
  }));
  const state = doc.querySelector(".order-head")?.dataset.orderState || "";
  return { steps, next, state };
}

/** `latest`: node id → { status, attempt }; `hops`: the [source, target] edges taken, in order.
 * Steps of one branch follow each other; a branch starts from its parallel (named in its lane,
 * `parallel:first`) and leads into what its parent lane did after the parallel (the join). */
export function pathOf({ steps, next, state }) {
  const latest = new Map();
  for (const step of steps) latest.set(step.node, { status: step.status, attempt: step.attempt });
  const final = FINAL.has(state);
  const ahead = final ? [] : next;
  for (const item of ahead) {
    const status = item.status === "pending" || !item.status ? "running" : item.status;
    latest.set(item.node, { status, attempt: 1 });
  }
  const lanes = new Map();
  for (const item of [...steps, ...ahead]) {
    if (!lanes.has(item.lane)) lanes.set(item.lane, []);
    lanes.get(item.lane).push(item.node);
  }
  const hops = [];
  const hop = (source, target) => { if (source && target && source !== target) hops.push([source, target]); };
  for (const [lane, nodes] of lanes) {
    nodes.forEach((node, index) => hop(nodes[index - 1], node));
    if (!lane) continue;
    const cut = lane.lastIndexOf("/");
    const parallel = lane.slice(cut + 1).split(":")[0];
    hop(parallel, nodes[0]);
    const parent = lanes.get(cut < 0 ? "" : lane.slice(0, cut)) || [];
    const after = parent[parent.lastIndexOf(parallel) + 1];
    if (parent.includes(parallel)) hop(nodes.at(-1), after);
  }
  return { latest, hops, final };
}
