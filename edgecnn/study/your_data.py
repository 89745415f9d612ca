"""`make your-data`: the defaults for a small data set of one's own, measured. Three small sets made here (a
synthetic one of shapes, edgecnn/data/synthetic.py, and two Fashion-MNIST class subsets), each trained with
the README's recipe for your own data (MobileNetV2 alpha 0.35, nothing else set), with the defaults edgecnn
had before they followed the data's size, and (the 32x32 grey sets) from the demo's trained model. Every
row is `make build/<r>/bench.json` in a project folder of its own (build/your_data/): top-1 of the fp32 and
int8 files on the set's test images through LiteRT, and what training took.

    python -m edgecnn.study.your_data [--sets shapes ...] [--variants defaults ...]
        -> reports/your_data.md, .json
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import yaml

from edgecnn.artifacts import read_json
from edgecnn.errors import UserError
from edgecnn.study.provenance import cpu_name
from edgecnn.study.peer import write
from edgecnn.study.provenance import invoked

ROOT = Path(__file__).resolve().parents[2]
FOLDER = Path("build/your_data")
REPORT = Path("reports/your_data")
DEMO = "build/fashion_mnist_mobilenet_v2/model.keras"
MODEL = {"name": "mobilenet_v2", "options": {"alpha": 0.35}}
FASHION = {"name": "fashion_mnist", "input_shape": [32, 32, 1], "classes": [5, 6, 7, 8, 9]}
SETS = {        # name -> (what it is, dataset section, calibration folder)
    "shapes": ("synthetic shapes, 3 classes, 200 + 60 a class, 64x64 RGB",
               {"name": "image_folder", "path": "data/shapes", "input_shape": [64, 64, 3]}, "data/shapes/train"),
    "fashion5x50": ("Fashion-MNIST classes 5-9, 50 a class", {**FASHION, "samples_per_class": 50}, None),
    "fashion5x200": ("Fashion-MNIST classes 5-9, 200 a class", {**FASHION, "samples_per_class": 200}, None),
}
OLD_DEFAULTS = {"epochs": 5, "batch_size": 128, "augmentation": [], "bn_recalibration": 0, "early_stopping": 0,
                "bn_momentum": 0.99}
VARIANTS = {    # name -> (what the table calls it, what the recipe adds to the README's)
    "defaults": ("defaults", {}),
    "old": ("old defaults (5 epochs, batch 128, momentum 0.99)", {"train": OLD_DEFAULTS}),
    "transfer": ("defaults, from the demo's model", {"model": {"weights": str(ROOT / DEMO)}}),
}


def workspace(folder=FOLDER):
    """A project folder of its own: the Makefile, calib_data and the env of this checkout, its own recipes/ and
    build/, and the synthetic set under data/."""
    from edgecnn.data.synthetic import write as shapes

    (folder / "recipes").mkdir(parents=True, exist_ok=True)
    for name in ("Makefile", "calib_data", "pyproject.toml", "constraints.txt", ".venv"):
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    if not (folder / "data" / "shapes" / "test").is_dir():
        shapes(folder / "data" / "shapes")
    return folder


def recipe(set_name, variant):
    _, dataset, calibration = SETS[set_name]
    data = {"model": dict(MODEL), "dataset": dict(dataset)}
    if calibration:
        data["calibration"] = {"path": calibration}
    for section, values in VARIANTS[variant][1].items():
        data[section] = {**data.get(section, {}), **values}
    return data


def applies(set_name, variant):
    """The demo's model takes 32x32 grey images: its weights start only the sets of that shape."""
    return variant != "transfer" or SETS[set_name][1]["input_shape"] == [32, 32, 1]


def measure(folder, name, data):
    """Build one recipe's bench.json in `folder`; its row."""
    (folder / "recipes" / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    started = time.perf_counter()
    log = folder / "build" / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    with open(log, "w") as out:
        status = subprocess.call(["make", "--no-print-directory", "-o", ".venv/.installed", f"build/{name}/bench.json"],
                                 cwd=folder, stdout=out, stderr=subprocess.STDOUT)
    if status:
        raise UserError(f"make build/{name}/bench.json failed in {folder} (exit {status}); its output: {log}.")
    build = folder / "build" / name
    history = read_json(build / "history.json")
    kept = next((row for row in history if row.get("kept")), history[-1])
    top1 = {Path(m["path"]).name: m["accuracy"] for m in read_json(build / "bench.json")["models"]}
    return {"epochs": len(history), "kept": kept["epoch"], "train_s": round(sum(r["seconds"] for r in history), 1),
            "wall_s": round(time.perf_counter() - started, 1), "fp32": top1["fp32.tflite"]["top1"],
            "int8": top1["int8.tflite"]["top1"], "test_images": top1["int8.tflite"]["samples"],
            "train_images": _train_images(log)}


def _train_images(log):
    """The count training printed ('training <model>: N parameters, M images, ...')."""
    for line in Path(log).read_text().splitlines():
        if line.startswith("training ") and " images, " in line:
            return int(line.split(" images, ")[0].rsplit(", ", 1)[1].replace(",", ""))
    return None


def run(sets, variants):
    if "transfer" in variants and not (ROOT / DEMO).is_file():
        subprocess.check_call(["make", "--no-print-directory", DEMO], cwd=ROOT)
    folder = workspace()
    rows = []
    for set_name in sets:
        for variant in variants:
            if applies(set_name, variant):
                name = f"{set_name}_{variant}"
                print(f"your-data: {SETS[set_name][0]}, {VARIANTS[variant][0]} ({name})", flush=True)
                rows.append({"set": set_name, "variant": variant, **measure(folder, name, recipe(set_name, variant))})
    runtime = read_json(folder / "build" / f"{rows[0]['set']}_{rows[0]['variant']}" / "bench.json")["runtime"]
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?",
            "cores": os.cpu_count(), "runtime": f"{runtime['name']} {runtime['version']}", "rows": rows}


def markdown(report):
    lines = [f"`python -m edgecnn.study.your_data` (make your-data), {report['date']}, {report['cpu']}, "
             f"{report['cores']} cores, {report['runtime']}; MobileNetV2 alpha 0.35, top-1 of each file on the "
             f"set's test images through LiteRT; training time as Keras timed its epochs.", "",
             "| data set | recipe | training images | epochs run (weights kept) | training | fp32 top-1 | int8 top-1 | test images |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    if any(r["variant"] == "transfer" for r in report["rows"]):
        lines[0] += (" The demo's model learned all ten Fashion-MNIST classes from 54,000 images, these five among "
                     "them: its rows are what a start from a related, larger data set gives, not a start from "
                     "unrelated classes (that one: docs/transfer.md).")
    for r in report["rows"]:
        lines.append(f"| {SETS[r['set']][0]} | {VARIANTS[r['variant']][0]} | {r['train_images']:,} | {r['epochs']} "
                     f"({r['kept']}) | {r['train_s'] / 60:.1f} min | {100 * r['fp32']:.2f} % | "
                     f"{100 * r['int8']:.2f} % | {r['test_images']:,} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.study.your_data", description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = p.parse_args(argv)
    try:
        write(run(args.sets, args.variants), REPORT, markdown, invoked("edgecnn.study.your_data", argv),
              ("edgecnn.bench",))
    except UserError as e:
        print(f"your-data: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
