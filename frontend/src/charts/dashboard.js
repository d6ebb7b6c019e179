// The live charts of the current run. Events only record data; drawing happens at most once per animation frame
// (and no more often than MIN_INTERVAL_MS), so a 1,000-epoch replay never freezes the page.

import { onLang, t } from "../i18n.js";
import { accuracyChart, lossChart } from "./curves.js";
import { boundaryChart } from "./boundary.js";
import { filtersChart } from "./filters.js";
import { gradDepthChart, gradEpochsChart } from "./gradients.js";
import { activationChart, activationFractionsChart, weightsHeatChart, weightsNowChart } from "./histograms.js";

const MIN_INTERVAL_MS = 120;

let cards = [];
let run = null;
let frame = null;
let lastDraw = 0;
let draws = 0;

export function mountDashboard(el) {
  cards = [
    lossChart(),
    boundaryChart(),
    accuracyChart(),
    gradEpochsChart(),
    gradDepthChart(),
    weightsHeatChart(),
    weightsNowChart(),
    activationChart(),
    activationFractionsChart(),
    filtersChart(),
  ];
  el.replaceChildren(...cards.map((c) => c.el));
  for (const card of cards) {
    if (card.select) card.select.addEventListener("change", () => drawNow());
  }
  onLang(() => {
    for (const card of cards) card.relabel();
    drawNow();
  });
  showRun(null);
}

/** Start showing a new run (or none): hides charts that do not apply (boundary for images, filters for dense nets). */
export function showRun(next) {
  run = next;
  for (const card of cards) {
    card.el.hidden = run ? Boolean(card.applies) && !card.applies(run) : card.id === "chart-filters";
    card.relabel();
    if (!run || !run.epochs.length) card.message(t("chart.waiting"));
  }
  schedule();
}

/** Ask for a redraw; many calls between frames cost one draw. */
export function schedule() {
  if (frame !== null) return;
  frame = requestAnimationFrame(tick);
}

function tick(now) {
  frame = null;
  if (now - lastDraw < MIN_INTERVAL_MS) {
    frame = requestAnimationFrame(tick);
    return;
  }
  drawNow();
}

function drawNow() {
  lastDraw = performance.now();
  if (!run || !run.epochs.length) return;
  if (document.getElementById("view-play")?.hidden) return; // drawn when the tab comes back
  draws += 1;
  for (const card of cards) {
    if (card.el.hidden) continue;
    if (card.id !== "chart-filters") card.message("");
    card.update(run);
  }
}

/** Redraw now and fit the plots to their cards (the tab became visible again). */
export function refresh() {
  drawNow();
  for (const card of cards) {
    if (!card.el.hidden && card.plot.classList.contains("js-plotly-plot")) window.Plotly.Plots.resize(card.plot);
  }
}

export function drawCount() {
  return draws;
}
