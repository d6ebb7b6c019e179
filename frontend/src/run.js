// One run's history, built from its events: the curves, per-layer series and capped histogram history the charts draw.

import { addStepLosses, newStepSeries } from "./steps.js";

export const MAX_HEAT_COLUMNS = 160; // weight-histogram history kept per layer; older columns are thinned, not dropped

export class RunData {
  constructor(job, spec) {
    this.job = job;
    this.spec = spec;
    this.status = job.status || "queued";
    this.position = null;
    this.device = null;
    this.nParams = null;
    this.error = null;
    this.divergedAt = null;
    this.epochs = [];
    this.train = { loss: [], accuracy: [] };
    this.test = { loss: [], accuracy: [] };
    this.lr = [];
    this.epochSteps = []; // the step each epoch ended at: where an epoch sits on an iterations axis
    this.steps = newStepSeries(); // the training loss every few steps (train.loss_steps)
    this.layerNames = [];
    this.grad = new Map(); // name -> [grad_norm per epoch]
    this.heat = new Map(); // name -> {stride, cols: [{epoch, edges, counts}]}
    this.last = null; // the latest epoch event, its layers' pictures filled in from the last epoch that sent them
    this.boundary = null; // the latest finite decision boundary
    this.revision = 0;
    this.seenEpochs = [];
    this.richEvents = []; // the epochs carrying pictures (units, weights, boundary, samples, confusion): the diagram's history
    this.events = []; // every epoch and control event in order: a replay rebuilds an earlier epoch from them
    this.controls = []; // the control events (pause, resume, step, lr): the charts mark them
    this.currentLr = null; // the learning rate now: the last epoch's, or a change made since
  }

  addStatus(ev) {
    this.status = ev.status;
    if (ev.position !== undefined) this.position = ev.position;
    if (ev.device) this.device = ev.device;
    if (ev.n_params !== undefined) this.nParams = ev.n_params;
    if (ev.error) this.error = ev.error;
    if (ev.status === "diverged") this.divergedAt = ev.epoch ?? (this.epochs.at(-1) ?? 0);
    this.revision += 1;
  }

  addEpoch(ev) {
    this.events.push(ev);
    this.currentLr = ev.lr ?? this.currentLr;
    this.seenEpochs.push(ev.epoch);
    if (this.status === "queued") this.status = "running";
    this.epochs.push(ev.epoch);
    this.train.loss.push(num(ev.train && ev.train.loss));
    this.train.accuracy.push(num(ev.train && ev.train.accuracy));
    this.test.loss.push(num(ev.test && ev.test.loss));
    this.test.accuracy.push(num(ev.test && ev.test.accuracy));
    this.lr.push(ev.lr ?? null);
    this.epochSteps.push(typeof ev.step === "number" ? ev.step : null);
    addStepLosses(this.steps, ev);
    const layers = ev.layers || [];
    // Long runs send the layers' scalars on a schedule: an epoch without them keeps the names (and the charts).
    if (layers.length && this.layerNames.length !== layers.length) this.layerNames = layers.map((l) => l.name);
    const filled = this.epochs.length - 1;
    for (const layer of layers) {
      if (!this.grad.has(layer.name)) this.grad.set(layer.name, new Array(filled).fill(null));
      this.grad.get(layer.name).push(num(layer.grad_norm));
      if (layer.weight_hist) this.pushHeat(layer.name, ev.epoch, layer.weight_hist);
    }
    for (const series of this.grad.values()) if (series.length < this.epochs.length) series.push(null); // columns stay aligned
    this.last = withLatestPictures(ev, this.last);
    if (ev.units || ev.boundary || ev.feature_maps || ev.samples || ev.confusion || layers.some((l) => l.weights || l.filters || l.weight_hist)) this.richEvents.push(ev);
    // A diverged epoch's boundary is all NaN (null): keep showing the last one that means something.
    if (ev.boundary && ev.boundary.z && ev.boundary.z.some((row) => row.some((v) => typeof v === "number"))) {
      this.boundary = ev.boundary;
      this.boundaryEpoch = ev.epoch;
    }
    this.revision += 1;
  }

  /** A control event: the run paused, resumed, stepped, or took a new learning rate. */
  addControl(ev) {
    this.events.push(ev);
    this.controls.push(ev);
    if (ev.action === "pause") this.status = "paused";
    else if (ev.action === "resume" || ev.action === "step") this.status = "running";
    else if (ev.action === "lr" && typeof ev.value === "number") this.currentLr = ev.value;
    this.revision += 1;
  }

  /** The run as it stood right after epoch `epoch` (its control events at that epoch included): what the replay
   * scrubber shows. Rebuilt from the events, so every chart reads it as it reads a live run; `from`, an earlier view
   * of this run at or before `epoch`, is carried forward instead (a replay playing costs only the new epochs). */
  until(epoch, from = null) {
    let view = from && from.replayOf === this && from.replayEpoch <= epoch ? from : null;
    if (!view) {
      view = new RunData(this.job, this.spec);
      for (const key of ["kind", "task", "nClasses", "points", "opened", "device", "nParams"]) view[key] = this[key];
      Object.assign(view, { replayOf: this, replayIndex: 0 });
    }
    let i = view.replayIndex;
    for (; i < this.events.length && !(this.events[i].epoch > epoch); i += 1) {
      const ev = this.events[i];
      if (ev.type === "epoch") view.addEpoch(ev);
      else view.addControl(ev);
    }
    Object.assign(view, { replayIndex: i, replayEpoch: epoch });
    view.status = this.status;
    view.divergedAt = this.divergedAt;
    view.revision = this.revision + 1 + epoch; // never one this run's charts were drawn at with other data
    return view;
  }

  /** Keep at most MAX_HEAT_COLUMNS columns: when full, keep every other one and take half as many new ones. */
  pushHeat(name, epoch, hist) {
    let h = this.heat.get(name);
    if (!h) {
      h = { stride: 1, pending: 0, cols: [] };
      this.heat.set(name, h);
    }
    h.pending += 1;
    if (h.cols.length && h.pending < h.stride) return;
    h.pending = 0;
    h.cols.push({ epoch, edges: hist.edges, counts: hist.counts });
    if (h.cols.length > MAX_HEAT_COLUMNS) {
      h.cols = h.cols.filter((_, i) => i % 2 === 0 || i === h.cols.length - 1);
      h.stride *= 2;
    }
  }

  get isImage() {
    return this.spec.model.layers.some((l) => l.type === "conv2d");
  }

  get latestEpoch() {
    return this.epochs.length ? this.epochs[this.epochs.length - 1] : null;
  }
}

const LAYER_PICTURES = ["weight_hist", "weights", "bias", "weights_shape", "filters"];
const EVENT_PICTURES = ["filters", "units", "feature_maps", "samples", "confusion"];

/** `ev` with what it did not send (histograms, weights, filters, unit maps: heavy payloads ride on some epochs
 * only) taken from `prev`, the last one shown: the charts keep their latest picture instead of going blank. */
function withLatestPictures(ev, prev) {
  if (!prev) return ev;
  const out = { ...ev };
  for (const key of EVENT_PICTURES) if (out[key] === undefined && prev[key] !== undefined) out[key] = prev[key];
  const before = new Map((prev.layers || []).map((l) => [l.name, l]));
  const layers = ev.layers && ev.layers.length ? ev.layers : prev.layers || [];
  out.layers = layers.map((layer) => {
    const old = before.get(layer.name);
    if (!old || old === layer) return layer;
    const merged = { ...layer };
    for (const key of LAYER_PICTURES) if (merged[key] === undefined && old[key] !== undefined) merged[key] = old[key];
    if (layer.activation && old.activation && layer.activation.hist === undefined && old.activation.hist) merged.activation = { ...layer.activation, hist: old.activation.hist };
    return merged;
  });
  return out;
}

function num(x) {
  return typeof x === "number" && Number.isFinite(x) ? x : x === null || x === undefined ? null : Number.NaN;
}

/** Re-bin histograms with different edges onto one common grid: the heatmap needs aligned rows. */
export function heatGrid(cols, bins = 40) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of cols) {
    if (!c.edges || c.edges.length < 2) continue;
    lo = Math.min(lo, c.edges[0]);
    hi = Math.max(hi, c.edges[c.edges.length - 1]);
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const centers = Array.from({ length: bins }, (_, i) => lo + (i + 0.5) * width);
  const z = centers.map(() => new Array(cols.length).fill(0));
  cols.forEach((c, j) => {
    const total = c.counts.reduce((a, b) => a + b, 0) || 1;
    for (let k = 0; k < c.counts.length; k += 1) {
      const a = c.edges[k];
      const b = c.edges[k + 1];
      const mass = c.counts[k] / total;
      if (!mass) continue;
      if (b - a <= 0) {
        const i = Math.min(bins - 1, Math.max(0, Math.floor((a - lo) / width)));
        z[i][j] += mass;
        continue;
      }
      // Spread the bin's mass over the new bins it overlaps, in proportion to the overlap.
      const i0 = Math.max(0, Math.floor((a - lo) / width));
      const i1 = Math.min(bins - 1, Math.floor((b - lo) / width));
      for (let i = i0; i <= i1; i += 1) {
        const overlap = Math.min(b, lo + (i + 1) * width) - Math.max(a, lo + i * width);
        if (overlap > 0) z[i][j] += (mass * overlap) / (b - a);
      }
    }
  });
  return { x: cols.map((c) => c.epoch), y: centers, z };
}
