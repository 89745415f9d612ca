"""Confusion matrices as a PNG: rows the true class, columns the predicted one, each cell's count written in it;
one panel per file (edgecnn compare-files --png: the two files side by side; edgecnn confusion: one PNG for each
file a recipe's bench.json measured)."""

from pathlib import Path

import numpy as np

from edgecnn.artifacts import atomic_path, read_json, record
from edgecnn.errors import UserError


def for_bench(recipe, out=None):
    """build/<r>/confusion_<variant>.png (or under `out`) for each file of build/<r>/bench.json; their paths."""
    bench = recipe.build_dir / "bench.json"
    if not bench.is_file():
        raise UserError(f"{bench} does not exist; run 'make {bench}' first.")
    labels = recipe.build_dir / "labels.txt"
    written = []
    for model in read_json(bench)["models"]:
        accuracy = model.get("accuracy", {})
        if "confusion" not in accuracy:
            raise UserError(f"{bench} holds no confusion matrix for {model['path']} (made by an older edgecnn-bench); "
                            f"run 'make -W {recipe.build_dir / 'stages' / 'bench.json'} {bench}' to measure it again.")
        k = len(accuracy["confusion"])
        names = labels.read_text(encoding="utf-8").splitlines() if labels.is_file() else []
        names = names if len(names) == k else [str(c) for c in range(k)]
        path = (out or recipe.build_dir) / f"confusion_{Path(model['path']).stem}.png"
        write_png([(f"{recipe.name}: {Path(model['path']).name}", accuracy["confusion"])], names, path)
        if out is None:
            record(recipe, path, "bench")
        written.append(path)
    return written


def write_png(panels, names, path):
    """panels: [(title, matrix)], matrix[true, predicted] = images; `names` the class names."""
    import matplotlib

    matplotlib.use("Agg")              # files only: no display on a build machine
    import matplotlib.pyplot as plt

    k = len(names)
    fig, axes = plt.subplots(1, len(panels), figsize=(0.55 * k * len(panels) + 2, 0.55 * k + 1.8), squeeze=False)
    for ax, (title, matrix) in zip(axes[0], panels):
        m = np.asarray(matrix)
        share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)      # of each true class
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if share[i, j] > 0.5 else "black")
        ax.set_xticks(range(k), names, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(k), names, fontsize=8)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        right = int(np.trace(m))
        ax.set_title(f"{title}\ntop-1 {100 * right / max(int(m.sum()), 1):.2f} % of {int(m.sum()):,} images", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def compare_files(file_a, file_b, data, samples=None, show=20, json_out=None, png=None):
    """edgecnn compare-files: the text bench/flips.py prints, with --png the two confusion matrices drawn."""
    from edgecnn.bench.flips import run
    from edgecnn.bench.labelled import DataError

    for path in (json_out, png):
        if path and not Path(path).absolute().parent.is_dir():
            raise UserError(f"{path}: the folder {Path(path).parent} does not exist; create it first.")
    try:
        text, result = run(file_a, file_b, data, samples, json_out=json_out, show=show)
    except DataError as e:
        raise UserError(str(e)) from None
    if png:
        write_png([(Path(file_a).name, result["confusion"]["a"]), (Path(file_b).name, result["confusion"]["b"])],
                  result["class_names"], png)
        text += f"\nwrote {png}"
    return text
