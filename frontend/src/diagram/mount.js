// The Playground's centre row, TensorFlow Playground's layout: the network diagram beside the output (the decision
// boundary for 2-D data, the mistakes panel for images). Both are drawn by the dashboard on its schedule.

import { h } from "../dom.js";
import { addPanel } from "../charts/dashboard.js";
import { datasetInfo } from "../data.js";
import { getSpec, subscribe } from "../state.js";
import { mountDiagram } from "./diagram.js";
import { mountMistakes } from "./mistakes.js";

/** diagramEl: #net-diagram; outputEl: the slot beside it, which receives the boundary chart's card. */
export function mountDiagramRow(diagramEl, outputEl) {
  const boundary = document.getElementById("chart-boundary");
  if (boundary) outputEl.append(boundary);
  const mistakes = h("section", { class: "nd-mistakes panel", id: "mistakes", "aria-labelledby": "mistakes-title" });
  outputEl.append(mistakes);
  // The output beside the diagram follows the setup being edited: the boundary for 2-D data, the mistakes for images.
  const kind = () => (outputEl.dataset.kind = datasetInfo(getSpec().dataset.name).kind);
  kind();
  subscribe(kind);
  addPanel(mountDiagram(diagramEl));
  addPanel(mountMistakes(mistakes));
}
