// Feature maps in the diagram's layer boxes (image sets): what a conv, pooling, LRN or batchnorm layer makes of one
// fixed test image (the events' `feature_maps`), a grid of small tiles per layer, and that image in the input box.
//
// Each host carries data-epoch (the epoch drawn), data-shape ("4x6x6": channels x height x width drawn) and data-hash
// (of all its tiles), so tests and the scrubber can tell two epochs apart without reading pixels.

import { h } from "../dom.js";
import { paintImage } from "../data.js";
import { t } from "../i18n.js";
import { paintGrid } from "./heat.js";

/** Layer types whose boxes show feature maps. */
export const MAP_KINDS = ["conv2d", "maxpool2d", "avgpool2d", "lrn", "batchnorm"];

function clear(host) {
  host.replaceChildren();
  for (const key of ["epoch", "shape", "hash", "sample", "cols"]) delete host.dataset[key];
  host.removeAttribute("title");
}

/** Draw `ev.feature_maps.layers[name]` into `host`: one tile per channel on one scale for the layer (a channel that is
 * near 0 everywhere looks blank beside a strong one, as it contributes little), white at 0, blue above, orange below. */
export function paintMaps(host, ev, name) {
  const maps = ev && ev.feature_maps && ev.feature_maps.layers ? ev.feature_maps.layers[name] : null;
  if (!Array.isArray(maps) || !maps.length || !Array.isArray(maps[0]) || !maps[0].length) {
    clear(host);
    return;
  }
  let scale = 0;
  for (const channel of maps) for (const row of channel) for (const v of row) if (typeof v === "number") scale = Math.max(scale, Math.abs(v));
  const canvases = [];
  let hash = "";
  for (const channel of maps) {
    const canvas = h("canvas", { width: channel[0].length, height: channel.length });
    // paintGrid puts a grid's first row at the bottom (a plane's y grows upwards); an image's first row is its top
    hash += paintGrid(canvas, channel.slice().reverse(), { scale: scale || 1 });
    canvases.push(canvas);
  }
  host.replaceChildren(...canvases);
  host.dataset.epoch = String(ev.epoch);
  host.dataset.shape = `${maps.length}x${maps[0].length}x${maps[0][0].length}`;
  host.dataset.hash = hash;
  host.dataset.cols = String(Math.min(4, Math.ceil(Math.sqrt(maps.length)))); // 4 channels as 2x2 larger tiles, 16 as 4x4
  host.title = t("diagram.maps", { layer: name, sample: ev.feature_maps.sample, epoch: ev.epoch });
}

/** Draw the feature maps' test image (found among the run's sample images) into the input box's `host`. */
export function paintSampleImage(host, ev, events) {
  const sample = ev && ev.feature_maps ? ev.feature_maps.sample : null;
  const withPixels = typeof sample === "number" ? events.find((e) => e.samples && Array.isArray(e.samples.images)) : null;
  const at = withPixels ? withPixels.samples.index.indexOf(sample) : -1;
  const shape = withPixels && withPixels.samples.shape;
  if (at < 0 || !Array.isArray(shape) || shape.length !== 3) {
    clear(host);
    return;
  }
  if (host.dataset.sample === String(sample) && host.firstChild) return; // the same image every epoch
  const [c, hgt, wid] = shape;
  const canvas = h("canvas", { width: wid, height: hgt });
  paintImage(canvas, withPixels.samples.images[at], c, hgt, wid);
  host.replaceChildren(canvas);
  host.dataset.sample = String(sample);
  host.dataset.shape = shape.join("x");
  host.title = t("diagram.sample", { sample });
}
