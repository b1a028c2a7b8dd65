// The code fields' own bundle (codefield.js): CodeMirror is a third of the editor's code and the
// canvas needs none of it, so it loads after the first drawing (load.js), not before.
import { showDiagnostic, upgradeFields } from "./field.js";

window.waybillCodeFields = { showDiagnostic, upgradeFields };
