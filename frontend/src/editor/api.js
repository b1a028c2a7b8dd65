// The JSON API, as the editor uses it. Every call resolves to {ok, status, data}; it never throws
// for an HTTP error, so callers show the API's `detail` and `errors` instead of a stack trace.

function headers() {
  const out = { "Content-Type": "application/json", Accept: "application/json" };
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content;
  if (csrf) out["X-CSRF-Token"] = csrf;
  return out;
}

export async function request(method, path, body) {
  try {
    const response = await fetch(path, {
      method,
      headers: headers(),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text.slice(0, 300) }; }
    return { ok: response.ok, status: response.status, data };
  } catch (error) {
    return { ok: false, status: 0, data: { detail: `Network error: ${error.message}` } };
  }
}

const enc = encodeURIComponent;

export const api = {
  validate: (doc) => request("POST", "/api/blueprints/validate", doc),
  save: (doc) => request("PUT", `/api/blueprints/${enc(doc.id)}`, doc),
  publish: (id) => request("POST", `/api/blueprints/${enc(id)}/publish`),
  versions: (id) => request("GET", `/api/blueprints/${enc(id)}/versions`),
  version: (id, n) => request("GET", `/api/blueprints/${enc(id)}/versions/${n}`),
  scope: (id, body) => request("POST", `/api/blueprints/${enc(id)}/scope`, body),
  checkExpression: (expression, kind) => request("POST", "/api/expressions/check", { expression, kind }),
  testRun: (id, body) => request("POST", `/api/blueprints/${enc(id)}/test-run`, body),
  order: (orderId) => request("GET", `/api/orders/${enc(orderId)}`),
  signal: (orderId, name, payload) => request("POST", `/api/orders/${enc(orderId)}/signals/${enc(name)}`, payload),
  cancel: (orderId) => request("POST", `/api/orders/${enc(orderId)}/cancel`),
  replay: (id, body) => request("POST", `/api/blueprints/${enc(id)}/replay`, body),
  coverage: (id, version) => request("GET", `/api/blueprints/${enc(id)}/coverage?version=${enc(version)}`),
  inFlight: (id) => request("GET", `/api/blueprints/${enc(id)}/in-flight`),
  migrate: (id, body) => request("POST", `/api/blueprints/${enc(id)}/migrate`, body),
};

/** One line for a failed call: the API's detail (and its first error), or the HTTP status. */
export function describeFailure(result) {
  const detail = result.data?.detail;
  const first = Array.isArray(result.data?.errors) ? result.data.errors[0] : null;
  const where = Array.isArray(first?.loc) ? first.loc.filter((part) => part !== "body").join(".") : "";
  const extra = first?.message ? ` (${where ? `${where}: ` : ""}${first.message})` : "";
  if (typeof detail === "string" && detail) return `${detail}${extra}`;
  return result.status ? `The server answered ${result.status}` : "The server could not be reached";
}
