// Ready-made setups, each a lesson from the syllabus. Missing fields come from the catalog's defaults (state.normalize).

import { h, render, toast } from "./dom.js";
import { onLang, t } from "./i18n.js";
import { normalize, replaceSpec } from "./state.js";

const dense = (units, activation, init = "default", extra = {}) => ({ type: "dense", units, activation, init, ...extra });
const conv = (filters, kernel_size, padding = 0, extra = {}) => ({ type: "conv2d", filters, kernel_size, padding, activation: "relu", init: "he", ...extra });
const pool = (kernel_size = 2) => ({ type: "maxpool2d", kernel_size });

/** What the page opens with: TensorFlow Playground's first screen, a circle and two small tanh layers. */
export const STARTER = {
  name: "circle, 2 tanh layers",
  dataset: { name: "circle", n_samples: 400, noise: 0.1, test_fraction: 0.5, features: ["x1", "x2"] },
  model: { layers: [dense(4, "tanh", "xavier"), dense(4, "tanh", "xavier")], output: { activation: "softmax", init: "xavier" } },
  training: { epochs: 100, batch_size: 10, loss: "cross_entropy", optimizer: { name: "sgd", lr: 0.03 } },
};

export const PRESETS = [
  {
    id: "spiral",
    spec: {
      name: "spiral needs depth",
      dataset: { name: "spiral", n_samples: 500, noise: 0.05, test_fraction: 0.5, features: ["x1", "x2"] },
      model: { layers: [dense(16, "tanh", "xavier"), dense(16, "tanh", "xavier"), dense(16, "tanh", "xavier")], output: { activation: "softmax", init: "xavier" } },
      training: { epochs: 300, batch_size: 16, loss: "cross_entropy", optimizer: { name: "adam", lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 } },
    },
  },
  {
    id: "sigmoid",
    spec: {
      name: "deep sigmoid: vanishing gradients",
      dataset: { name: "circle", n_samples: 400, noise: 0.1, test_fraction: 0.5 },
      model: { layers: Array.from({ length: 8 }, () => dense(16, "sigmoid", "normal", { init_std: 1.0 })), output: { activation: "softmax", init: "normal", init_std: 1.0 } },
      training: { epochs: 100, batch_size: 16, loss: "cross_entropy", optimizer: { name: "sgd", lr: 0.1 } },
    },
  },
  {
    id: "relu",
    spec: {
      name: "deep ReLU + He",
      dataset: { name: "circle", n_samples: 400, noise: 0.1, test_fraction: 0.5 },
      model: { layers: Array.from({ length: 8 }, () => dense(16, "relu", "he")), output: { activation: "softmax", init: "he" } },
      training: { epochs: 100, batch_size: 16, loss: "cross_entropy", optimizer: { name: "sgd", lr: 0.1 } },
    },
  },
  {
    id: "overfit",
    spec: {
      name: "overfitting: 40 points, big net",
      dataset: { name: "spiral", n_samples: 500, noise: 0.3, test_fraction: 0.5, train_limit: 40 },
      model: { layers: [dense(64, "relu", "he"), dense(64, "relu", "he"), dense(64, "relu", "he")], output: { activation: "softmax", init: "xavier" } },
      training: { epochs: 400, batch_size: 10, loss: "cross_entropy", optimizer: { name: "adam", lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, l1: 0, l2: 0 },
    },
  },
  {
    id: "lenet",
    spec: {
      name: "LeNet on digits",
      dataset: { name: "digits", test_fraction: 0.3 },
      model: {
        layers: [conv(6, 3, 1), pool(), conv(16, 3, 1), pool(), { type: "flatten" }, dense(120, "relu", "he"), dense(84, "relu", "he")],
        output: { activation: "softmax", init: "xavier" },
      },
      training: { epochs: 20, batch_size: 32, loss: "cross_entropy", optimizer: { name: "adam", lr: 0.002, beta1: 0.9, beta2: 0.999, eps: 1e-8 } },
    },
  },
  {
    id: "alexnet",
    spec: {
      name: "small AlexNet on Fashion-MNIST",
      dataset: { name: "fashion-mnist", train_limit: 3000 },
      model: {
        layers: [
          conv(16, 5, 2),
          { type: "lrn", size: 5, alpha: 1e-4, beta: 0.75, k: 2.0 },
          pool(),
          conv(32, 3, 1),
          { type: "lrn", size: 5, alpha: 1e-4, beta: 0.75, k: 2.0 },
          pool(),
          conv(48, 3, 1),
          conv(48, 3, 1),
          conv(32, 3, 1),
          pool(),
          { type: "flatten" },
          { type: "dropout", p: 0.5 },
          dense(128, "relu", "he"),
          { type: "dropout", p: 0.5 },
          dense(128, "relu", "he"),
        ],
        output: { activation: "softmax", init: "xavier" },
      },
      training: { epochs: 10, batch_size: 64, loss: "cross_entropy", optimizer: { name: "adam", lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8 } },
    },
  },
];

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

export function mountPresets(el) {
  root = el;
  draw();
  onLang(draw);
}
