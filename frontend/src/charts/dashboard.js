// The live charts of the current run. Events only record data; drawing happens at most once per animation frame
// (and no more often than the adaptive interval), and only for charts on screen: a 1,000-epoch stream never freezes
// the page. All stale charts are drawn in one pass, and the run bar's epoch counter is painted from that pass
// (onDrawn), so the counter and every visible chart show the same epoch in every frame.

import { onLang, t } from "../i18n.js";
import { accuracyChart, lossChart } from "./curves.js";
import { boundaryChart } from "./boundary.js";
import { filtersChart } from "./filters.js";
import { gradDepthChart, gradEpochsChart } from "./gradients.js";
import { activationChart, activationFractionsChart, weightsHeatChart, weightsNowChart } from "./histograms.js";
import { valuesChart } from "./values.js";

const MIN_INTERVAL_MS = 120;
const MAX_INTERVAL_MS = 1000;

let cards = [];
let run = null;
let frame = null;
let lastDraw = 0;
let draws = 0;
let interval = MIN_INTERVAL_MS;
let live = null; // the run showRun was given; `run` is what is drawn: it, or a replay's view of it (showView)
const drawnListeners = new Set();
let everyChart = false; // the next pass draws the charts off screen too (a run ended: scrolling down finds it drawn)
let seen = null; // the IntersectionObserver that tells which cards are on screen

export function mountDashboard(el) {
  cards = [
    lossChart(),
    boundaryChart(),
    accuracyChart(),
    gradEpochsChart(),
    gradDepthChart(),
    weightsHeatChart(),
    weightsNowChart(),
    valuesChart(),
    activationChart(),
    activationFractionsChart(),
    filtersChart(),
  ];
  el.replaceChildren(...cards.map((c) => c.el));
  // Off-screen charts wait: drawn when scrolled into view (if their data changed meanwhile).
  if ("IntersectionObserver" in window) {
    seen = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const card = cards.find((c) => c.el === entry.target);
          if (!card) continue;
          card.onScreen = entry.isIntersecting;
          if (card.onScreen && run && card.drawn !== run.revision) schedule();
        }
      },
      { rootMargin: "150px 0px" },
    );
    for (const card of cards) seen.observe(card.el);
  }
  for (const card of cards) {
    // a card's own menus (the layer picker, the loss chart's x-axis) redraw it at once
    for (const menu of card.el.querySelectorAll(".chart-head select")) menu.addEventListener("change", () => drawNow());
  }
  onLang(() => {
    for (const card of cards) {
      card.relabel();
      if (!run || !run.epochs.length) card.message(t("chart.waiting")); // the waiting note too, not only the titles
    }
    drawNow();
  });
  showRun(null);
}

/** Draw a panel that lives outside #charts (the network diagram) on the same schedule: a card-like object with el,
 * update(run), message(text) and relabel(). */
export function addPanel(card) {
  cards.push(card);
  if (seen) seen.observe(card.el);
  if (run && run.epochs.length) schedule();
}

/** Start showing a new run (or none): hides charts that do not apply (boundary for images, filters for dense nets). */
export function showRun(next) {
  run = live = next;
  for (const card of cards) {
    card.el.hidden = run ? Boolean(card.applies) && !card.applies(run) : card.id === "chart-filters";
    card.relabel();
    card.drawn = null; // revisions restart with each run
    if (!run || !run.epochs.length) card.message(t("chart.waiting"));
  }
  schedule();
}

/** Ask for a redraw; many calls between frames cost one draw. `urgent` skips the wait (a run just finished); `all`
 * draws the charts off screen too, once. */
export function schedule({ urgent = false, all = false } = {}) {
  if (urgent) lastDraw = -Infinity;
  if (all) everyChart = true;
  if (frame !== null) return;
  frame = requestAnimationFrame(tick);
}

function tick(now) {
  frame = null;
  if (now - lastDraw < interval) {
    frame = requestAnimationFrame(tick);
    return;
  }
  startPass();
}

/** Draw the stale, visible, on-screen charts, all in this task so that one frame shows them at one epoch (drawn one
 * per task, they showed different epochs, the counter ahead of them all); the next pass waits twice the time this one
 * took, so clicks and keys get through between passes. */
function startPass() {
  if (!run || !run.epochs.length) return;
  if (document.getElementById("view-play")?.hidden) return; // drawn when the tab comes back
  lastDraw = performance.now();
  for (const card of cards) if (!card.el.hidden && (everyChart || card.onScreen !== false) && card.drawn !== run.revision) drawCard(card);
  everyChart = false;
  interval = Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, 2 * (performance.now() - lastDraw)));
  drawn();
}

/** fn(run) after each drawing pass, with the run (or replay view) the charts now show. */
export function onDrawn(fn) {
  drawnListeners.add(fn);
}

function drawn() {
  for (const fn of drawnListeners) fn(run);
}

/** Draw `view` (RunData.until(epoch): the replay scrubber) in place of the run; null goes back to the run itself. */
export function showView(view) {
  run = view || live;
  for (const card of cards) card.drawn = null;
  schedule({ urgent: true });
}

/** One chart's failure stays in its card: it says so there, the pass goes on to the other charts, and the card is
 * tried again with the next data (before, one throw left the pass unfinished and froze every chart for good). */
function drawCard(card) {
  if (!run) return;
  draws += 1;
  if (card.id !== "chart-filters") card.message("");
  const t0 = performance.now();
  try {
    card.update(run);
  } catch (err) {
    console.warn(`${card.id} could not be drawn`, err);
    card.message(t("chart.failed"));
  } finally {
    card.ms = performance.now() - t0;
    card.drawn = run.revision;
  }
}

/** Test and debug hook: how long each chart's last draw took, in ms. */
export function chartTimes() {
  return Object.fromEntries(cards.filter((c) => c.ms !== undefined).map((c) => [c.id, Math.round(c.ms)]));
}

/** Test and debug hook: the chart cards, to make one fail on purpose. */
export function chartCards() {
  return cards;
}

/** Draw every shown chart now, on screen or not (a tab switch, a language change, a layer picked). */
function drawNow() {
  lastDraw = performance.now();
  if (!run || !run.epochs.length) return;
  if (document.getElementById("view-play")?.hidden) return;
  for (const card of cards) if (!card.el.hidden) drawCard(card);
  drawn();
}

/** Redraw now and fit the plots to their cards (the tab became visible again). */
export function refresh() {
  drawNow();
  for (const card of cards) {
    if (!card.el.hidden && card.plot?.classList.contains("js-plotly-plot")) window.Plotly.Plots.resize(card.plot);
  }
}

export function drawCount() {
  return draws;
}
