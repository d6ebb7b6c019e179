// Replay of a finished run: the epoch scrubber (#epoch-scrubber) moves every chart, the boundary and the network
// diagram to that epoch (the dashboard draws RunData.until(epoch); the diagram follows showEpoch), and the play button
// (#replay-play) plays the run again at the chosen speed (#replay-speed).

import { h } from "./dom.js";
import { t } from "./i18n.js";
import { showView } from "./charts/dashboard.js";
import { showEpoch } from "./diagram/diagram.js";

const SPEEDS = [0.25, 0.5, 1, 2, 4];
const BASE_SECONDS = 10; // at 1× a whole run plays in about this long
const MIN_RATE = 4; // epochs a second at 1×, however short the run

let run = null;
let epoch = null; // the epoch shown; null: the run's last (nothing pinned)
let view = null; // the RunData.until view shown (carried forward while playing)
let position = 0; // while playing: the fractional epoch reached
let frame = null;
let lastTime = null;

const playBtn = h("button", { type: "button", class: "btn small", id: "replay-play", "data-key": "replay-play", onclick: togglePlay });
const label = h("label", { for: "epoch-scrubber" });
const scrubber = h("input", { type: "range", id: "epoch-scrubber", min: "0", step: "1", "data-key": "epoch-scrubber", oninput: () => scrub(Number(scrubber.value)) });
const out = h("output", { id: "replay-epoch", for: "epoch-scrubber" });
const speedLabel = h("label", { for: "replay-speed" });
const speed = h("select", { id: "replay-speed", "data-key": "replay-speed" }, SPEEDS.map((s) => h("option", { value: String(s) }, `${s}×`)));
speed.value = "1";
const bar = h("div", { class: "replay", id: "replay", role: "group" }, playBtn, label, scrubber, out, speedLabel, speed);

/** The replay bar for `next` (shown once the run is over and has epochs to go through); a new run ends the replay. */
export function replayBar(next, finished) {
  if (next !== run) {
    stop();
    run = next;
    if (epoch !== null) back();
  }
  const epochs = run ? run.epochs : [];
  bar.hidden = !finished || epochs.length < 2;
  if (bar.hidden && epoch !== null) back();
  bar.setAttribute("aria-label", t("replay.title"));
  label.textContent = t("replay.epoch");
  speedLabel.textContent = t("replay.speed");
  playBtn.textContent = frame === null ? `▶ ${t("replay.play")}` : `▮▮ ${t("replay.stop")}`;
  playBtn.title = t("replay.playHelp");
  if (epochs.length) {
    scrubber.min = String(epochs[0]);
    scrubber.max = String(epochs.at(-1));
    scrubber.value = String(epoch ?? epochs.at(-1));
    out.textContent = t("replay.shown", { e: epoch ?? epochs.at(-1), n: epochs.at(-1) });
  }
  return bar;
}

/** Show the run at `e` (its last epoch: the run itself again). */
function scrub(e) {
  if (!run || !run.epochs.length) return;
  const last = run.epochs.at(-1);
  const target = Math.max(run.epochs[0], Math.min(last, Math.round(e)));
  if (target === (epoch ?? last)) return;
  if (target === last) back();
  else {
    epoch = target;
    view = run.until(target, view);
    showView(view);
    showEpoch(target);
  }
  scrubber.value = String(target);
  out.textContent = t("replay.shown", { e: target, n: last });
}

function back() {
  epoch = null;
  view = null;
  showView(null);
  showEpoch(null);
}

function togglePlay() {
  if (frame !== null) stop();
  else play();
  replayBar(run, !bar.hidden);
}

function play() {
  if (!run || run.epochs.length < 2) return;
  const last = run.epochs.at(-1);
  position = epoch === null || epoch >= last ? run.epochs[0] : epoch;
  scrub(position);
  lastTime = null;
  frame = requestAnimationFrame(advance);
}

function advance(now) {
  const last = run.epochs.at(-1);
  const rate = Math.max(MIN_RATE, (last - run.epochs[0]) / BASE_SECONDS) * Number(speed.value);
  if (lastTime !== null) position = Math.min(last, position + (rate * (now - lastTime)) / 1000);
  lastTime = now;
  scrub(Math.floor(position));
  if (position >= last) {
    frame = null;
    replayBar(run, true);
    return;
  }
  frame = requestAnimationFrame(advance);
}

function stop() {
  if (frame !== null) cancelAnimationFrame(frame);
  frame = null;
}
