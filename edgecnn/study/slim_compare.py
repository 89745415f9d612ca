"""`make slim`: channel pruning (slim-NN) against the same architecture made narrower and trained from scratch at
the same multiply-adds, the comparison papers often skip.

    python -m edgecnn.study.slim_compare [RECIPE ...] [--levels 30 50]   -> reports/slim.md, .json

For each recipe (default: the demo's MobileNet v2, recipes/slim_micro_cnn.yaml, recipes/slim_densenet.yaml) and
each level: slim-NN fine-tuned from the trained model (slim.epochs), and the model at the width whose multiply-adds
are closest to slim-NN's (MobileNet's alpha, micro_cnn's widths, DenseNet's growth rate), trained from
scratch on the recipe's own budget (recipes/slim_scratch_<recipe>_<NN>.yaml, written here). Every int8 file of a
recipe in one interleaved edgecnn-bench run (LiteRT, 1 and 2 threads) with top-1 on the test set; fp32 top-1 from
the fp32 files; the arena on TensorFlow Lite Micro; flash is the int8 file's size.
"""

import argparse
import sys
from pathlib import Path

import yaml

from edgecnn import recipe as recipes
from edgecnn.errors import UserError
from edgecnn.study.bench_run import run_bench
from edgecnn.study.peer import write
from edgecnn.study.provenance import invoked

RECIPES = ("recipes/fashion_mnist_mobilenet_v2.yaml", "recipes/slim_micro_cnn.yaml", "recipes/slim_densenet.yaml")
LEVELS = (30, 50)
REPORT = Path("reports/slim")


def scaled(name, options, s):
    """The model options at `s` times the width: MobileNet's alpha, micro_cnn's widths, DenseNet's growth rate."""
    if name.startswith("mobilenet"):
        return {**options, "alpha": round(options.get("alpha", 1.0) * s, 4)}
    if name == "micro_cnn":
        return {**options, "widths": [max(1, round(w * s)) for w in options.get("widths", [24, 48, 96])]}
    if name == "densenet121":
        return {**options, "growth_rate": max(1, round(options.get("growth_rate", 32) * s))}
    raise UserError(f"make slim: {name} has no width option to train a narrower model at; use a MobileNet, "
                    f"micro_cnn or densenet121 recipe.")


def width_for(recipe, target):
    """(options, multiply-adds) of the recipe's model at the width whose multiply-adds are closest to `target`."""
    from edgecnn.zoo import build_model
    from edgecnn.zoo.macs import count_macs

    name, options = recipe["model"]["name"], recipe["model"]["options"]
    shape, classes = tuple(recipe["dataset"]["input_shape"]), 10
    tried = {}

    def macs(s):
        opts = scaled(name, options, s)
        key = yaml.safe_dump(opts)
        if key not in tried:
            tried[key] = (opts, int(count_macs(build_model(name, shape, classes, opts))))
        return tried[key][1]

    low, high = 0.05, 1.0
    for _ in range(14):                                 # multiply-adds grow with the width
        mid = (low + high) / 2
        low, high = (mid, high) if macs(mid) < target else (low, mid)
    return min(tried.values(), key=lambda t: abs(t[1] - target))


def scratch_recipe(recipe, level, options):
    """recipes/slim_scratch_<recipe>_<level>.yaml: the recipe at `options`' width, trained from scratch."""
    path = Path("recipes") / f"slim_scratch_{recipe.name}_{level}.yaml"
    text = (f"# Written by `make slim` (edgecnn/study/slim_compare.py): {recipe.name}'s model at the width whose "
            f"multiply-adds\n# are closest to slim-{level}'s, trained from scratch on the same budget.\n"
            + yaml.safe_dump({"base": f"{recipe.name}.yaml", "model": {"options": options},
                              "targets": {"int8_top1": None, "int8_drop": None}}, sort_keys=False))
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def _counts(path):
    from edgecnn.zoo.keras_file import load_trained
    from edgecnn.zoo.macs import count_macs

    model = load_trained(path)
    return int(count_macs(model)), int(model.count_params())


def _arena(path):
    report = run_bench([path], ["--runtime", "tflm"], f"TFLite Micro on {path}")
    return report["models"][0]["arena"]["smallest"]


def run(paths, levels):
    from edgecnn.make import make

    families = []
    for path in paths:
        recipe = recipes.load(path)
        out = recipe.build_dir
        make([str(out / f) for f in ("model.keras", "testset.npz", "fp32.tflite", "int8.tflite")]
             + [str(out / f"slim-{level}{ext}") for level in levels for ext in (".keras", "-fp32.tflite", "-int8.tflite")])
        rows = [{"model": "unpruned", "source": out / "model.keras", "fp32": out / "fp32.tflite", "int8": out / "int8.tflite"}]
        for level in levels:
            slim_macs, _ = _counts(out / f"slim-{level}.keras")
            options, _ = width_for(recipe, slim_macs)
            scratch = recipes.load(scratch_recipe(recipe, level, options))
            make([str(scratch.build_dir / f) for f in ("model.keras", "fp32.tflite", "int8.tflite")])
            rows.append({"model": f"slim-{level}", "source": out / f"slim-{level}.keras",
                         "fp32": out / f"slim-{level}-fp32.tflite", "int8": out / f"slim-{level}-int8.tflite"})
            rows.append({"model": f"from scratch, {_width(recipe['model']['name'], options)}", "level": level,
                         "source": scratch.build_dir / "model.keras", "fp32": scratch.build_dir / "fp32.tflite",
                         "int8": scratch.build_dir / "int8.tflite"})
        cfg, testset = recipe["bench"], ["--data", str(out / "testset.npz")]
        timed = run_bench([r["int8"] for r in rows], [*testset, "--threads", "1,2", "--runs", cfg["runs"],
                                                      "--warmup", cfg["warmup"]], f"{recipe.name}'s int8 files")
        floats = run_bench([r["fp32"] for r in rows], [*testset, "--runs", 1, "--warmup", 0], f"{recipe.name}'s fp32 files")
        medians = {row["threads"]: row["median_ms"] for row in timed["thread_sweep"]}
        for i, row in enumerate(rows):
            row["macs"], row["params"] = _counts(row["source"])
            row["top1_int8"] = timed["models"][i]["accuracy"]["top1"]
            row["top1_fp32"] = floats["models"][i]["accuracy"]["top1"]
            row["ms_1"], row["ms_2"] = medians[1][i], medians[2][i]
            row["flash"] = timed["models"][i]["bytes"]
            row["arena"] = _arena(row["int8"])
            for key in ("source", "fp32", "int8"):
                row[key] = str(row[key])
        families.append({"recipe": str(path), "name": recipe["model"]["name"], "options": recipe["model"]["options"],
                         "epochs": recipe["train"]["epochs"], "slim_epochs": recipe["slim"]["epochs"],
                         "criterion": recipe["slim"]["criterion"], "samples": timed["models"][0]["accuracy"]["samples"],
                         "runtime": f"{timed['runtime']['name']} {timed['runtime']['version']}", "rows": rows})
    return {"levels": list(levels), "families": families}


def _width(name, options):
    if name.startswith("mobilenet"):
        return f"alpha {options['alpha']:g}"
    if name == "micro_cnn":
        return f"widths {options['widths']}"
    return f"growth rate {options['growth_rate']}"


def verdicts(report):
    """The sentences the table supports, whichever way it falls."""
    lines = []
    for family in report["families"]:
        rows = family["rows"]
        base = rows[0]
        for slim, scratch in zip(rows[1::2], rows[2::2]):
            fewer = 1 - slim["macs"] / base["macs"]
            lines.append(
                f"{family['name']} {slim['model']}: {fewer:.0%} fewer multiply-adds, int8 {base['ms_2'] / slim['ms_2']:.2f}x "
                f"as fast as the unpruned int8 at 2 threads ({base['ms_1'] / slim['ms_1']:.2f}x at 1), top-1 "
                f"{100 * (slim['top1_int8'] - base['top1_int8']):+.2f} points; against {scratch['model']} "
                f"({scratch['macs'] / slim['macs']:.2f}x its multiply-adds): top-1 "
                f"{100 * (slim['top1_int8'] - scratch['top1_int8']):+.2f} points, latency "
                f"{slim['ms_2'] / scratch['ms_2']:.2f}x at 2 threads, arena {slim['arena'] / scratch['arena']:.2f}x.")
    return lines


def markdown(report):
    lines = [f"Channel pruning (`slim-NN`, filters chosen by their {report['families'][0]['criterion']} criterion, "
             f"fine-tuned) against the same architecture at the width giving the same multiply-adds, trained from "
             f"scratch on the recipe's budget. int8 latency: every int8 file of a recipe in one interleaved "
             f"edgecnn-bench run ({report['families'][0]['runtime']}, medians); top-1 on the test set; arena: "
             f"the smallest TensorFlow Lite Micro allocates and runs in; flash: the int8 file.", ""]
    for family in report["families"]:
        lines += [f"**{family['name']} {family['options']}** (`{family['recipe']}`: {family['epochs']} epochs from "
                  f"scratch; slim-NN: those plus {family['slim_epochs']} of fine-tuning; {family['samples']:,} test "
                  f"images)", "",
                  "| model | top-1 fp32 | top-1 int8 | multiply-adds | parameters | int8 ms, 1 thread | "
                  "int8 ms, 2 threads | TFLM arena | flash |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in family["rows"]:
            lines.append(f"| {r['model']} | {100 * r['top1_fp32']:.2f} % | {100 * r['top1_int8']:.2f} % | "
                         f"{r['macs'] / 1e6:.2f} M | {r['params']:,} | {r['ms_1']:.3f} | {r['ms_2']:.3f} | "
                         f"{r['arena'] / 1024:.1f} KB | {r['flash'] / 1024:.0f} KB |")
        lines.append("")
    return "\n".join(lines + ["What it shows:", ""] + [f"- {v}" for v in verdicts(report)])


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.study.slim_compare", description=__doc__.split("\n\n")[0])
    p.add_argument("recipes", nargs="*", default=list(RECIPES))
    p.add_argument("--levels", nargs="+", type=int, default=list(LEVELS), help="per cent of channels removed")
    args = p.parse_args(argv)
    try:
        write(run(args.recipes, args.levels), REPORT, markdown, invoked("edgecnn.study.slim_compare", argv),
              packages=("edgecnn.bench",))
    except UserError as e:
        print(f"edgecnn: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
