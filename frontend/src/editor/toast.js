// Short messages at the bottom of the canvas. Text only (textContent), never HTML.
let host;

export function toast(message, tone = "info", ms = 3200) {
  host ||= document.getElementById("toasts");
  if (!host) return;
  const item = document.createElement("div");
  item.className = `toast toast-${tone}`;
  item.setAttribute("role", tone === "error" ? "alert" : "status");
  item.textContent = message;
  host.append(item);
  setTimeout(() => item.classList.add("toast-out"), ms);
  setTimeout(() => item.remove(), ms + 400);
}
