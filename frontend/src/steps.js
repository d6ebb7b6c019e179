// The training loss against iterations, from the epoch events' train.loss_steps (docs/api.md): the book plots loss per
// step, and one Fashion-MNIST epoch is 469 steps, so a per-epoch curve hides the early race between optimisers.
// Point j of an epoch is the mean loss of k = train.loss_every steps and ends at step s₀ + (j + 1)·k (at most the
// epoch's own `step`), s₀ the previous epoch's step; epoch 0's loss (before any step) starts the curve at iteration 0.

/** An empty series: x (iterations), y (losses), and the step the last epoch ended at. */
export function newStepSeries() {
  return { x: [], y: [], lastStep: 0 };
}

/** Adds one epoch event's step losses to `steps`; other events are ignored. */
export function addStepLosses(steps, ev) {
  if (ev.type !== "epoch" || !ev.train) return;
  const k = ev.train.loss_every || 1;
  if (ev.epoch === 0) {
    steps.x.push(0);
    steps.y.push(ev.train.loss ?? null);
  }
  (ev.train.loss_steps || []).forEach((loss, j) => {
    steps.x.push(Math.min(steps.lastStep + (j + 1) * k, ev.step ?? Infinity));
    steps.y.push(loss);
  });
  if (typeof ev.step === "number") steps.lastStep = ev.step;
}
