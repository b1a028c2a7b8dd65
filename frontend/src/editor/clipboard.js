// Copy and paste of steps (with the edges between them). Pasted steps get fresh ids, since an
// id is what edges and errors refer to.
import { edgeCell, nodeOf } from "./convert.js";
import { freshNodeId } from "./palette.js";
import { nodeCell } from "./shapes.js";

const OFFSET = 40;

export function createClipboard(editor) {
  const { graph } = editor;
  let copied = null;

  function copy() {
    const cells = graph.getSelectedCells().filter((cell) => cell.isNode() && nodeOf(cell).type !== "start");
    if (!cells.length) return false;
    const chosen = new Set(cells);
    copied = {
      nodes: cells.map((cell) => ({ node: structuredClone(nodeOf(cell)), at: cell.getPosition() })),
      edges: graph.getEdges()
        .filter((edge) => chosen.has(edge.getSourceCell()) && chosen.has(edge.getTargetCell()))
        .map((edge) => ({ ...editor.edgeJson(edge) })),
    };
    return true;
  }

  function paste() {
    if (!copied || editor.readOnly) return false;
    const renamed = new Map();
    graph.startBatch("paste");
    const added = copied.nodes.map(({ node, at }) => {
      const id = freshNodeId(editor, node.type);
      renamed.set(node.id, id);
      const cell = graph.addNode(nodeCell({ ...node, id }, { x: at.x + OFFSET, y: at.y + OFFSET }, editor.apiCalls));
      editor.forgetIndex();
      return cell;
    });
    for (const edge of copied.edges) {
      const source = editor.findNode(renamed.get(edge.source));
      const target = editor.findNode(renamed.get(edge.target));
      if (source && target) graph.addEdge(edgeCell(source.id, target.id, edge.kind, edge.label, edge.source_type));
    }
    graph.stopBatch("paste");
    for (const item of copied.nodes) item.at = { x: item.at.x + OFFSET, y: item.at.y + OFFSET };
    graph.resetSelection(added);
    return true;
  }

  return { copy, paste };
}
