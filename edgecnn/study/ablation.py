"""`make ablation`: what each training choice buys, one row per recipe of recipes/ablation_<n>_<choice>.yaml.
Every row is the recipe it names in `base:` plus one choice, on the same model and budget
(recipes/_ablation.yaml), so the change against that row is the choice's own. Top-1 of the fp32 and int8
files on all test images, in one edgecnn-bench run of every file; training time from each history.json.

    python -m edgecnn.study.ablation        (the files first: make ablation)   -> reports/ablation.md, .json
"""

import platform
import sys
import time
from pathlib import Path

import yaml

from edgecnn.artifacts import read_json
from edgecnn.errors import UserError
from edgecnn.study import bench_run
from edgecnn.study.bench_run import bench
from edgecnn.study.provenance import cpu_name

REPORT = Path("reports/ablation")
FORMATS = ("fp32", "int8")
NOISE = 0.3     # points: a change smaller than this is called "no clear change" (seed spread, not measured here)


def rows(recipes="recipes"):
    """[(name, parent name or None)] of the ablation recipes, in order."""
    out = []
    for path in sorted(Path(recipes).glob("ablation_*.yaml")):
        base = (yaml.safe_load(path.read_text()) or {}).get("base")
        parent = Path(base).stem if isinstance(base, str) and base.startswith("ablation_") else None
        out.append((path.stem, parent))
    return out


def added(train, parent_train):
    """The train keys a row sets differently from its parent, as 'key: value' text."""
    keys = [k for k in train if train[k] != (parent_train or {}).get(k)]
    return ", ".join(f"{k}: {_short(train[k])}" for k in keys) if parent_train is not None else "baseline"


def _short(value):
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def files(root="build"):
    out = []
    for name, _ in rows():
        folder = Path(root) / name
        for needed in [folder / "recipe.json", folder / "history.json", folder / "testset.npz",
                       *(folder / f"{f}.tflite" for f in FORMATS)]:
            if not needed.is_file():
                raise UserError(f"{needed} is missing: `make ablation` builds every file the ablation measures.")
        out.append(folder)
    return out


def run(runs, root="build"):
    folders = files(root)
    if len({(f / "testset.npz").read_bytes() for f in folders}) != 1:
        raise UserError("the ablation's builds have different test sets; their recipes must share "
                        "recipes/_ablation.yaml's dataset section.")
    paths = [str(f / f"{fmt}.tflite") for f in folders for fmt in FORMATS]
    measured, runtime = bench(paths, folders[0] / "testset.npz", runs, 2, "the ablation")
    recipes = {f.name: read_json(f / "recipe.json") for f in folders}
    table = []
    for (name, parent), folder in zip(rows(), folders):
        history = read_json(folder / "history.json")
        row = {"recipe": name, "on_top_of": parent,
               "adds": added(recipes[name]["train"], recipes[parent]["train"] if parent else None),
               "train_minutes": round(sum(h.get("seconds", 0) for h in history) / 60, 1)}
        for fmt in FORMATS:
            m = measured[str(folder / f"{fmt}.tflite")]
            row[fmt] = {"top1": m["accuracy"]["top1"], "bytes": m["bytes"]}
        table.append(row)
    recipe = recipes[folders[0].name]
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?",
            "runtime": f"{runtime['name']} {runtime['version']}", "model": recipe["model"],
            "epochs": recipe["train"]["epochs"], "train_images": recipe["dataset"]["train_samples"],
            "test_images": measured[paths[0]]["accuracy"]["samples"], "rows": table}


def verdict(change):
    if change is None:
        return ""
    if abs(change) < NOISE:
        return "no clear change"
    return "helps" if change > 0 else "hurts"


def markdown(report):
    by_name = {r["recipe"]: r for r in report["rows"]}
    model = report["model"]
    lines = [f"What each training choice buys: {model['name']} {model['options']}, Fashion-MNIST at 32x32, "
             f"{report['epochs']} epochs of {report['train_images'] or 'all'} training images; top-1 of the fp32 and "
             f"int8 files on all {report['test_images']:,} test images ({report['runtime']}, {report['cpu']}, "
             f"{report['date']}). Each row adds one choice to the row it names; the change is against that row's "
             f"fp32 top-1. Changes under {NOISE} points are called no clear change: one seed per row, so a smaller "
             f"difference is within what another seed could give. `make ablation` wrote it.", "",
             "| recipe | adds | on top of | fp32 top-1 | int8 top-1 | int8 − fp32 | change (fp32) | verdict "
             "| training min |", "|---|---|---|---:|---:|---:|---:|---|---:|"]
    for r in report["rows"]:
        parent = by_name.get(r["on_top_of"])
        change = 100 * (r["fp32"]["top1"] - parent["fp32"]["top1"]) if parent else None
        lines.append(f"| {r['recipe']} | {r['adds']} | {r['on_top_of'] or '—'} | {100 * r['fp32']['top1']:.2f} % "
                     f"| {100 * r['int8']['top1']:.2f} % | {100 * (r['int8']['top1'] - r['fp32']['top1']):+.2f} "
                     f"| {'—' if change is None else f'{change:+.2f}'} | {verdict(change)} | {r['train_minutes']} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    return bench_run.main(argv, "edgecnn.study.ablation", __doc__, "ablation", run, markdown, REPORT, 5,
                          "timed runs of each file (top-1 is the point; default 5)")


if __name__ == "__main__":
    sys.exit(main())
