// Loss and accuracy over epochs, train and test.

import { t } from "../i18n.js";
import { chartCard } from "./card.js";
import { baseLayout, epochAxis, draw, TEST_COLOR, TRAIN_COLOR } from "./plot.js";

function lines(run, key) {
  const mode = run.epochs.length <= 30 ? "lines+markers" : "lines"; // a lone point still shows
  return [
    { x: run.epochs, y: run.train[key], name: t("chart.train"), mode, marker: { size: 4 }, line: { color: TRAIN_COLOR, width: 2 } },
    { x: run.epochs, y: run.test[key], name: t("chart.test"), mode, marker: { size: 4 }, line: { color: TEST_COLOR, width: 2 } },
  ];
}

export function lossChart() {
  const card = chartCard({ id: "chart-loss", titleKey: "chart.loss", helpKey: "help.chart.loss" });
  card.update = (run) => {
    const logScale = run.train.loss.some((v) => v > 0) && Math.max(...run.train.loss.filter(Number.isFinite)) > 50;
    draw(
      card.plot,
      lines(run, "loss"),
      baseLayout({ datarevision: run.revision, xaxis: epochAxis(run, t("chart.epoch")), yaxis: { type: logScale ? "log" : "linear", rangemode: "tozero" } }),
    );
  };
  return card;
}

export function accuracyChart() {
  const card = chartCard({ id: "chart-accuracy", titleKey: "chart.accuracy", helpKey: "help.chart.accuracy" });
  card.applies = (run) => run.task !== "regression";
  card.update = (run) => {
    draw(card.plot, lines(run, "accuracy"), baseLayout({ datarevision: run.revision, xaxis: epochAxis(run, t("chart.epoch")), yaxis: { range: [0, 1.02], tickformat: ".0%" } }));
  };
  return card;
}
