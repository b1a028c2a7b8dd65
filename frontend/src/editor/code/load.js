// Loading the code fields' bundle (bundle.js) once, from beside the editor's own script.
let loading = null;

function bundleUrl() {
  const editor = document.querySelector('script[src*="build/editor.js"]');
  return editor ? editor.src.replace("build/editor.js", "build/codefield.js") : "/static/build/codefield.js";
}

/** The code fields ({upgradeFields, showDiagnostic}), once their bundle has loaded. */
export function loadCodeFields() {
  if (window.waybillCodeFields) return Promise.resolve(window.waybillCodeFields);
  loading ||= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = bundleUrl();
    script.onload = () => resolve(window.waybillCodeFields);
    script.onerror = () => { loading = null; reject(new Error("the code fields could not be loaded")); };
    document.head.append(script);
  });
  return loading;
}

/** Mark a field's error in its code view, if the code fields are there (else its message shows alone). */
export function showDiagnostic(input, message) {
  window.waybillCodeFields?.showDiagnostic(input, message);
}
