// Ready-made setups, each a lesson from the syllabus, loaded by main.js from api.lessons() (the examples of their names).
// Missing fields come from the catalog's defaults (state.normalize).

import { h, render, toast } from "./dom.js";
import { onLang, t } from "./i18n.js";
import { normalize, replaceSpec } from "./state.js";

const dense = (units, activation, init = "default", extra = {}) => ({ type: "dense", units, activation, init, ...extra });

/** What the page opens with: TensorFlow Playground's first screen, a circle and two small tanh layers. */
export const STARTER = {
  name: "circle, 2 tanh layers",
  dataset: { name: "circle", n_samples: 400, noise: 0.1, test_fraction: 0.5, features: ["x1", "x2"] },
  model: { layers: [dense(4, "tanh", "xavier"), dense(4, "tanh", "xavier")], output: { activation: "softmax", init: "xavier" } },
  training: { epochs: 100, batch_size: 10, loss: "cross_entropy", optimizer: { name: "sgd", lr: 0.03 } },
};

/** The presets, each one of examples/*.json as the server serves it (GET /api/lessons): a preset and the example of its
 * name are one spec. */
let PRESETS = [];

let root = null;
let lastLoaded = null;

export function loadPreset(id) {
  const preset = PRESETS.find((p) => p.id === id);
  if (!preset) return;
  lastLoaded = id;
  replaceSpec(normalize(preset.spec), { source: "preset" });
  toast(t("presets.loaded", { name: t(`preset.${id}.name`) }));
  draw();
}

function draw() {
  render(
    root,
    h(
      "details",
      { open: true },
      h("summary", {}, h("h2", { id: "presets-title" }, t("presets.title"))),
      h(
        "div",
        { class: "panel-body" },
        h(
          "div",
          { class: "presets" },
          PRESETS.map((p) =>
            h(
              "button",
              { type: "button", class: "btn", "data-preset": p.id, "data-key": `preset-${p.id}`, title: t(`preset.${p.id}.desc`), "aria-pressed": String(lastLoaded === p.id), onclick: () => loadPreset(p.id) },
              t(`preset.${p.id}.name`),
            ),
          ),
        ),
        lastLoaded ? h("p", { class: "hint" }, t(`preset.${lastLoaded}.desc`)) : null,
      ),
    ),
  );
}

export function mountPresets(el, presets) {
  root = el;
  PRESETS = presets;
  draw();
  onLang(draw);
}
