// The Export menu's words (src/export.js), in English and Japanese.

export const en = {
  "export.menu": "Export",
  "export.title": "Take this run home: the same training as plain PyTorch code, a notebook, and the trained weights",
  "export.python": "Python code (.py)",
  "export.notebook": "Notebook (.ipynb)",
  "export.weights": "Trained weights (.safetensors)",
};

export const ja = {
  "export.menu": "エクスポート",
  "export.title": "この実行を持ち帰る: 同じ学習を素の PyTorch のコードとノートブックで、学習済みの重みとともに",
  "export.python": "Python コード (.py)",
  "export.notebook": "ノートブック (.ipynb)",
  "export.weights": "学習済みの重み (.safetensors)",
};
