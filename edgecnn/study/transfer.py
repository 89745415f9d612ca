"""`make transfer`: does a start from weights trained on other classes beat training from scratch on a few hundred
images? The pair of recipes (transfer_scratch, transfer_finetune; Make has built their int8 files) measured in one
edgecnn-bench run on the target task's test images, written as reports/transfer.md and .json with what made them.

    python -m edgecnn.study.transfer [--runs 100]
"""

import sys
from pathlib import Path

from edgecnn.artifacts import read_json
from edgecnn.errors import UserError

PAIR = ("transfer_scratch", "transfer_finetune")
SOURCE = "transfer_pretrain"
REPORT = Path("reports/transfer")
EVERY = 5               # validation accuracy every this many epochs


def training(recipe):
    """How a recipe trained, in words, from its build's recipe.json."""
    t = recipe["train"]
    if t.get("freeze_backbone_epochs"):
        return (f"{t['freeze_backbone_epochs']} epochs classifier alone at {t['learning_rate']:g}, then "
                f"{t['epochs'] - t['freeze_backbone_epochs']} epochs every layer"
                f"{'' if t.get('train_bn', False) else ' but batch-norm'} at {t['fine_tune_learning_rate']:g}")
    return f"{t['epochs']} epochs, {t['optimizer'].capitalize()} {t['learning_rate']:g} ({t['schedule']}), every layer"


def history(name):
    try:
        return read_json(Path("build") / name / "history.json")
    except UserError:
        return []


def run(runs):
    folders = [Path("build") / name for name in PAIR]
    missing = [str(f / "int8.tflite") for f in folders if not (f / "int8.tflite").is_file()]
    if missing:
        raise UserError(f"{missing[0]} is missing: `make transfer` builds the pair first.")
    data = folders[1] / "testset.npz"
    from edgecnn.study.bench_run import run_bench

    bench = run_bench([f / "int8.tflite" for f in folders], ["--data", data, "--runs", runs], "the transfer pair")
    recipes = {name: read_json(Path("build") / name / "recipe.json") for name in (*PAIR, SOURCE)
               if (Path("build") / name / "recipe.json").is_file()}
    return {"bench": bench, "recipes": recipes,
            "history": {name: history(name) for name in (*PAIR, SOURCE)}, "data": str(data)}


def markdown(report):
    from edgecnn.bench.table import render

    bench, recipes, hist = report["bench"], report["recipes"], report["history"]
    models = {Path(m["path"]).parent.name: m for m in bench["models"]}
    top1 = {name: models[name]["accuracy"]["top1"] for name in PAIR}
    scratch, finetune = (recipes[name] for name in PAIR)
    data = finetune["dataset"]
    lines = ["| recipe | starts from | training | int8 top-1, "
             f"{models[PAIR[1]]['accuracy']['samples']:,} test images of classes "
             f"{'-'.join(map(str, (data['classes'][0], data['classes'][-1])))} |", "|---|---|---|---:|"]
    for name, recipe in ((PAIR[0], scratch), (PAIR[1], finetune)):
        weights = recipe["model"].get("weights")
        start = f"`{Path(weights).parent.name}`" if weights else "random weights"
        lines.append(f"| `{name}` | {start} | {training(recipe)} | {100 * top1[name]:.2f} % |")
    gain = 100 * (top1[PAIR[1]] - top1[PAIR[0]])
    lines += ["", f"Transfer is **{gain:+.2f} points** against scratch on the same "
                  f"{data['samples_per_class'] * len(data['classes'])} training images and the same architecture. "
                  f"Both files full int8, {models[PAIR[0]]['bytes'] / 2 ** 20:.2f} and "
                  f"{models[PAIR[1]]['bytes'] / 2 ** 20:.2f} MB, median latency "
                  f"{models[PAIR[0]]['latency_ms']['median']:.3f} and {models[PAIR[1]]['latency_ms']['median']:.3f} ms."]
    source = hist.get(SOURCE) or []
    if source:
        lines.append(f"The source, `{SOURCE}`, ended at validation accuracy {100 * source[-1]['val_accuracy']:.1f} % "
                     f"after {source[-1]['epoch']} epochs.")
    for name in PAIR:
        rows = [r for r in hist.get(name) or [] if r["epoch"] == 1 or r["epoch"] % EVERY == 0]
        if rows:
            epochs = ", ".join(str(r["epoch"]) for r in rows)
            accuracies = ", ".join(f"{100 * r['val_accuracy']:.1f}" for r in rows)
            lines.append(f"Validation accuracy of `{name}` at epochs {epochs}: {accuracies} %.")
    return "\n".join(lines) + "\n\nThe benchmark's table:\n\n```\n" + render(bench).rstrip() + "\n```\n"


def main(argv=None):
    from edgecnn.study.bench_run import main as command

    return command(argv, "edgecnn.study.transfer", __doc__, "transfer", run, markdown, REPORT, 100,
                   "timed runs per file (default 100)")


if __name__ == "__main__":
    sys.exit(main())
