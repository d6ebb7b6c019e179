// Puts a 422's messages next to the controls their `loc` names (a layer, a field), and keeps them there across re-renders.

let current = [];
let fallbackSink = null;

/** Where messages go whose loc names no control on the page (the run bar's alert). */
export function setFallbackSink(fn) {
  fallbackSink = fn;
}

/** ["body", "model", "layers", 0, "dense", "units"] -> ["model.layers.0.dense.units", ..., "model"] minus "body". */
export function candidates(loc) {
  const parts = (loc || []).map(String);
  if (parts[0] === "body") parts.shift();
  const keys = [];
  // Without discriminator tags (pydantic puts the union member's tag in the loc: layers.0.dense.units).
  const untagged = [];
  for (let i = 0; i < parts.length; i += 1) {
    const prev = parts[i - 1];
    const prevPrev = parts[i - 2];
    const isTag =
      (prevPrev === "layers" && /^\d+$/.test(prev)) || prev === "optimizer" || prev === "lr_schedule" || /^(literal\[|function-)/.test(parts[i]) || ["int", "float", "str"].includes(parts[i]);
    if (!isTag) untagged.push(parts[i]);
  }
  for (const list of [untagged, parts]) {
    for (let n = list.length; n > 0; n -= 1) keys.push(list.slice(0, n).join("."));
  }
  // Most specific first: a field beats its layer, a layer beats the model.
  return [...new Set(keys)].sort((a, b) => b.split(".").length - a.split(".").length);
}

/** Show these error items ([{loc, msg}]); returns the ones that found no control. */
export function showErrors(items) {
  current = items || [];
  return apply();
}

export function clearErrors() {
  current = [];
  apply();
}

export function hasErrors() {
  return current.length > 0;
}

/** Re-apply after a panel re-render (new elements, same errors). */
export function reapplyErrors() {
  apply();
}

function apply() {
  for (const el of document.querySelectorAll("[data-error-for]")) el.textContent = "";
  for (const el of document.querySelectorAll("[aria-invalid='true']")) el.removeAttribute("aria-invalid");
  for (const el of document.querySelectorAll(".layer.invalid")) el.classList.remove("invalid");
  const orphans = [];
  for (const item of current) {
    const keys = candidates(item.loc);
    const sink = keys.map((k) => document.querySelector(`[data-error-for="${CSS.escape(k)}"]`)).find(Boolean);
    if (!sink) {
      orphans.push(item);
      continue;
    }
    sink.textContent = sink.textContent ? `${sink.textContent} ${item.msg}` : item.msg;
    const control = document.querySelector(`[data-loc="${CSS.escape(sink.dataset.errorFor)}"]`);
    if (control) control.setAttribute("aria-invalid", "true");
    const card = sink.closest(".layer");
    if (card) card.classList.add("invalid");
  }
  if (fallbackSink) fallbackSink(orphans);
  return orphans;
}
