// Short names for a setup, so that runs in the history tell themselves apart at a glance.

import { label, t } from "./i18n.js";

const ACT = { relu: "r", sigmoid: "σ", tanh: "t", step: "s", leaky_relu: "lr", identity: "i" };

/** "8t-8t", "c6-pool-c16-pool-flat-120r": the hidden layers in order. */
export function networkText(spec, max = 34) {
  if (!spec) return "";
  const parts = spec.model.layers.map((l) => {
    if (l.type === "dense") return `${l.units}${ACT[l.activation] || ""}`;
    if (l.type === "conv2d") return `c${l.filters}`;
    if (l.type === "dropout") return `d${l.p}`;
    if (l.type === "flatten") return "flat";
    if (l.type === "batchnorm") return "bn";
    return l.type.replace("2d", "");
  });
  const text = parts.join("-") || "linear";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "spiral · 8t-8t · SGD η=0.03": what changed between runs is visible in the name. */
export function runName(spec) {
  const opt = spec.training.optimizer;
  return `${spec.dataset.name} · ${networkText(spec, 40)} · ${label("opt", opt.name)} η=${opt.lr}`;
}

/** A job summary's `settings` in one line: "spiral · dense 8 tanh → dense 8 tanh · Adam η=0.01 · batch 16 · 300 epochs". */
export function settingsText(settings) {
  if (!settings) return "";
  const layers = (settings.layers || []).join(" → ") || t("setup.linear");
  const batch = settings.batch_size === "full" ? t("setup.fullBatch") : t("setup.batch", { n: settings.batch_size });
  return [settings.dataset, layers, `${label("opt", settings.optimizer)} η=${settings.lr}`, batch, t("setup.epochs", { n: settings.epochs })].join(" · ");
}
