// Loss and accuracy over epochs, train and test.

import { label, t } from "../i18n.js";
import { chartCard } from "./card.js";
import { controlMarks } from "./marks.js";
import { baseLayout, epochAxis, draw, extent, TEST_COLOR, TRAIN_COLOR } from "./plot.js";

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
    const span = extent(run.train.loss);
    const logScale = Boolean(span) && span[0] > 0 && span[1] > 50;
    draw(
      card.plot,
      lines(run, "loss"),
      baseLayout({
        datarevision: run.revision,
        xaxis: epochAxis(run, t("chart.epoch")),
        yaxis: { type: logScale ? "log" : "linear", rangemode: "tozero", title: { text: t("chart.lossAxis", { loss: label("loss", run.spec.training.loss) }) } },
        ...controlMarks(run),
      }),
    );
  };
  return card;
}

export function accuracyChart() {
  const card = chartCard({ id: "chart-accuracy", titleKey: "chart.accuracy", helpKey: "help.chart.accuracy" });
  card.applies = (run) => run.task !== "regression";
  card.update = (run) => {
    draw(card.plot, lines(run, "accuracy"), baseLayout({ datarevision: run.revision, xaxis: epochAxis(run, t("chart.epoch")), yaxis: { range: [0, 1.02], tickformat: ".0%", title: { text: t("chart.accuracyAxis") } }, ...controlMarks(run) }));
  };
  return card;
}
