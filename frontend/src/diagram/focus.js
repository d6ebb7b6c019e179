// A layer picked on the diagram opens in the charts: every chart with a layer picker (weight and activation
// histograms) switches to it, its gradient history stands out, and those charts scroll into view, marked for a moment.

const CHARTS = ["chart-weights-heat", "chart-weights-now", "chart-act-hist", "chart-grad-epochs"];
const MARK_MS = 1600;

/** The gradient history has no layer picker (it shows every layer): the picked layer's curve is drawn bold and the
 * others faded, until the chart's next redraw. */
function emphasise(name) {
  const plot = document.querySelector("#chart-grad-epochs .plot");
  if (!plot || !Array.isArray(plot.data) || !plot.data.some((trace) => trace.name === name) || !window.Plotly) return;
  window.Plotly.restyle(plot, {
    "line.width": plot.data.map((trace) => (trace.name === name ? 4 : 1.2)),
    opacity: plot.data.map((trace) => (trace.name === name ? 1 : 0.35)),
  });
}

export function focusLayer(name) {
  for (const select of document.querySelectorAll("#charts .chart-head select")) {
    if (![...select.options].some((o) => o.value === name) || select.value === name) continue;
    select.value = name;
    select.dispatchEvent(new Event("change"));
  }
  emphasise(name); // after the pickers' change, whose redraw would undo it
  const cards = CHARTS.map((id) => document.getElementById(id)).filter((el) => el && !el.hidden);
  if (!cards.length) return;
  for (const card of cards) {
    card.classList.add("nd-focus");
    setTimeout(() => card.classList.remove("nd-focus"), MARK_MS);
  }
  cards[0].scrollIntoView({ block: "nearest", behavior: matchMedia("(prefers-reduced-motion: reduce)").matches ? "auto" : "smooth" });
}
