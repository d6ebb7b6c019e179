// The epoch the diagram and the mistakes panel show: null follows the newest; a number pins an earlier one (the
// replay scrubber sets it through diagram.showEpoch).

let epoch = null;
const listeners = new Set();

export function pinned() {
  return epoch;
}

export function pin(next) {
  const value = typeof next === "number" && Number.isFinite(next) ? next : null;
  if (value === epoch) return;
  epoch = value;
  for (const fn of listeners) fn(epoch);
}

export function onPin(fn) {
  listeners.add(fn);
}
