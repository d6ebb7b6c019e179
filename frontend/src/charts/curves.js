// Loss and accuracy over epochs, train and test; the loss also over iterations.

import { h } from "../dom.js";
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

/** Where each epoch sits on the iterations axis: the step it ended at. */
function stepOf(run) {
  const at = new Map(run.epochs.map((e, i) => [e, run.epochSteps[i]]));
  return (epoch) => at.get(epoch) ?? null;
}

/** Train loss every few steps (the trainer's mean over k steps of the batches it trained on) and the test loss at
 * each epoch's last step: the book's loss-against-iterations picture. */
function iterationLines(run) {
  const mode = run.epochs.length <= 30 ? "lines+markers" : "lines";
  return [
    { x: run.steps.x, y: run.steps.y, name: t("chart.trainSteps"), mode: "lines", line: { color: TRAIN_COLOR, width: 1.5 } },
    { x: run.epochSteps, y: run.test.loss, name: t("chart.test"), mode, marker: { size: 4 }, line: { color: TEST_COLOR, width: 2 } },
  ];
}

function iterationAxis(run) {
  const whole = run.replayOf || run; // a replay keeps the whole run's axis, as epochAxis does
  const last = whole.steps.x.at(-1) ?? 0;
  return { title: { text: t("chart.iterations") }, tickformat: "d", ...(whole !== run ? { range: [0, last], autorange: false } : {}) };
}

export function lossChart() {
  const card = chartCard({ id: "chart-loss", titleKey: "chart.loss", helpKey: "help.chart.loss" });
  // the x-axis: epochs (one point an epoch, train loss measured on the training set) or iterations (train.loss_steps)
  const xSelect = h("select", { "data-key": "chart-loss-x" }, h("option", { value: "epoch" }), h("option", { value: "iteration" }));
  card.el.querySelector(".chart-head").append(xSelect);
  const relabel = card.relabel;
  card.relabel = () => {
    relabel();
    xSelect.setAttribute("aria-label", t("chart.lossX"));
    xSelect.options[0].textContent = t("chart.per.epoch");
    xSelect.options[1].textContent = t("chart.per.iteration");
  };
  card.relabel();
  card.update = (run) => {
    const perStep = xSelect.value === "iteration" && run.steps.x.length > 1;
    const span = extent(run.train.loss);
    const logScale = Boolean(span) && span[0] > 0 && span[1] > 50;
    draw(
      card.plot,
      perStep ? iterationLines(run) : lines(run, "loss"),
      baseLayout({
        datarevision: `${run.revision}:${perStep ? "steps" : "epochs"}`,
        xaxis: perStep ? iterationAxis(run) : epochAxis(run, t("chart.epoch")),
        yaxis: { type: logScale ? "log" : "linear", rangemode: "tozero", title: { text: t("chart.lossAxis", { loss: label("loss", run.spec.training.loss) }) } },
        ...controlMarks(run, perStep ? stepOf(run) : undefined),
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
