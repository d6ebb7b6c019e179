// A layer picked on the diagram opens in the charts: every chart with a layer picker (weight and activation
// histograms) switches to it, and the histogram and gradient charts scroll into view, marked for a moment.

const CHARTS = ["chart-weights-heat", "chart-weights-now", "chart-act-hist", "chart-grad-epochs"];
const MARK_MS = 1600;

export function focusLayer(name) {
  for (const select of document.querySelectorAll("#charts .chart-head select")) {
    if (![...select.options].some((o) => o.value === name) || select.value === name) continue;
    select.value = name;
    select.dispatchEvent(new Event("change"));
  }
  const cards = CHARTS.map((id) => document.getElementById(id)).filter((el) => el && !el.hidden);
  if (!cards.length) return;
  for (const card of cards) {
    card.classList.add("nd-focus");
    card.dataset.focusLayer = name;
    setTimeout(() => card.classList.remove("nd-focus"), MARK_MS);
  }
  cards[0].scrollIntoView({ block: "nearest", behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
}
