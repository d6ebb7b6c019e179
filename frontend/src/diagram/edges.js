// The diagram's edges: one SVG path from each box of a column to each box of the next, laid out from where the boxes
// sit on screen, and restyled each epoch by weight (blue positive, orange negative, width by magnitude) without a
// new layout.

const SVG = "http://www.w3.org/2000/svg";
const MAX_EDGES = 4096; // two columns of 32 units give 1,024; beyond this a column pair is drawn as one band
const POS = "#0877bd";
const NEG = "#f59322";
const NEUTRAL = "#b8c0cc";

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** The point on a box's left or right edge, middle height, in `frame`'s own (unzoomed) coordinates. */
function anchor(box, frame, side, zoom) {
  const r = box.getBoundingClientRect();
  return { x: ((side === "right" ? r.right : r.left) - frame.left) / zoom, y: (r.top + r.height / 2 - frame.top) / zoom };
}

function curve(a, b) {
  const mx = (a.x + b.x) / 2;
  return `M${a.x.toFixed(1)},${a.y.toFixed(1)} C${mx.toFixed(1)},${a.y.toFixed(1)} ${mx.toFixed(1)},${b.y.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}`;
}

export class Edges {
  /** host: the positioned element the SVG fills (the diagram's canvas). */
  constructor(host) {
    this.host = host;
    this.el = svg("svg", { class: "nd-edges", "aria-hidden": "true" });
    this.paths = new Map(); // "layer|to|from" -> path
    this.fanIn = new Map();
    host.prepend(this.el);
  }

  /**
   * Lay out the edges between consecutive columns. `cols`: [{name, boxes: [element]}]; edges into column c belong to
   * c's layer: the path for unit j of c from box i of c-1 is keyed "c.name|j|i". A column with `oneToOne` (batch
   * normalisation) joins box i to box i only. `zoom`: the CSS zoom on the host (screen px per host px).
   */
  layout(cols, zoom = 1) {
    const frame = this.host.getBoundingClientRect();
    this.el.setAttribute("width", String(Math.ceil(frame.width / zoom)));
    this.el.setAttribute("height", String(Math.ceil(frame.height / zoom)));
    const old = this.paths;
    this.paths = new Map();
    this.fanIn = new Map(); // layer -> boxes it is drawn from: its weights colour the edges only if that is its fan-in
    const frag = document.createDocumentFragment();
    for (let c = 1; c < cols.length; c += 1) {
      const from = cols[c - 1].boxes;
      const to = cols[c].boxes;
      if (!from.length || !to.length) continue;
      const outs = from.map((b) => anchor(b, frame, "right", zoom));
      const ins = to.map((b) => anchor(b, frame, "left", zoom));
      const band = from.length * to.length > MAX_EDGES;
      const oneToOne = cols[c].oneToOne && from.length === to.length;
      this.fanIn.set(cols[c].name, band ? 0 : from.length);
      for (let j = 0; j < (band ? 1 : to.length); j += 1) {
        for (let i = 0; i < (band ? 1 : from.length); i += 1) {
          if (oneToOne && i !== j) continue;
          const key = `${cols[c].name}|${j}|${i}`;
          const path = old.get(key) || svg("path", { class: "nd-edge" });
          path.setAttribute("d", curve(outs[i], ins[j]));
          path.dataset.edge = key;
          this.paths.set(key, path);
          frag.append(path);
        }
      }
    }
    this.el.replaceChildren(frag);
  }

  /** Style the edges into each layer by its weights (weights: layer -> {weights: [out][in]}); neutral where unknown. */
  paint(weights, describe) {
    const scales = new Map();
    for (const [name, w] of weights) {
      if (!w.weights.length || w.weights[0].length !== this.fanIn.get(name)) continue;
      let m = 0;
      for (const row of w.weights) for (const v of row) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
      scales.set(name, m || 1);
    }
    for (const [key, path] of this.paths) {
      const [name, j, i] = key.split("|");
      const w = scales.has(name) ? weights.get(name) : null;
      const v = w && w.weights[Number(j)] ? w.weights[Number(j)][Number(i)] : undefined;
      let title = path.querySelector("title");
      if (typeof v === "number" && Number.isFinite(v)) {
        const f = Math.abs(v) / scales.get(name);
        // Many edges between two columns: small weights fade further, so the large ones stand out (a 16x16 layer has 256).
        const dense = (this.fanIn.get(name) || 0) * w.weights.length > 100;
        path.setAttribute("stroke", v >= 0 ? POS : NEG);
        path.setAttribute("stroke-width", ((dense ? 0.4 : 0.6) + 5 * f).toFixed(2));
        path.setAttribute("stroke-opacity", ((dense ? 0.08 : 0.35) + (dense ? 0.87 : 0.6) * f * (dense ? f : 1)).toFixed(2));
        path.dataset.weight = String(v);
        if (!title) title = path.appendChild(svg("title"));
        title.textContent = describe(name, Number(j), Number(i), v);
      } else {
        path.setAttribute("stroke", NEUTRAL);
        path.setAttribute("stroke-width", "1");
        path.setAttribute("stroke-opacity", "0.5");
        delete path.dataset.weight;
        if (title) title.remove();
      }
    }
  }
}
