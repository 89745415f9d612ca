"""`make max-drop`: quantize.max_drop on a recipe whose plain int8 file loses more than a point: the fp32 file, the
plain int8 file (the same model.keras, converted without the budget) and the budgeted int8 file on the test set in
one interleaved edgecnn-bench run, with the validation curve that chose the float tensors (quant_budget.md).

    python -m edgecnn.study.max_drop [RECIPE]      (default recipes/vgg16_max_drop.yaml) -> reports/max_drop.md, .json
"""

import argparse
import sys
import tempfile
from pathlib import Path

from edgecnn import recipe as recipes
from edgecnn.errors import UserError
from edgecnn.study.bench_run import run_bench
from edgecnn.study.peer import write
from edgecnn.study.provenance import invoked

RECIPE = Path("recipes/vgg16_max_drop.yaml")
REPORT = Path("reports/max_drop")


def plain_int8(recipe):
    """The recipe's int8 file as it would be without quantize.max_drop (same model, calibration and I/O)."""
    from edgecnn.compress.stage import load_source
    from edgecnn.convert import converter as conv
    from edgecnn.convert.stage import _prepared
    from edgecnn.data.calibration import for_recipe
    from edgecnn.variants import parse_source

    model, _ = _prepared(recipe, load_source(recipe, parse_source("model")))
    return conv.convert(model, "int8", for_recipe(recipe), recipe["convert"]["int8_io"])


def run(path):
    from edgecnn.make import make

    recipe = recipes.load(path)
    out = recipe.build_dir
    make([str(out / "fp32.tflite"), str(out / "int8.tflite"), str(out / "testset.npz")])
    with tempfile.TemporaryDirectory(prefix="max-drop-") as tmp:
        plain = Path(tmp) / "int8-plain.tflite"
        plain.write_bytes(plain_int8(recipe))
        files = [out / "fp32.tflite", plain, out / "int8.tflite"]
        cfg = recipe["bench"]
        report = run_bench(files, ["--data", str(out / "testset.npz"), "--threads", cfg["threads"], "--runs",
                                   cfg["runs"], "--warmup", cfg["warmup"]], "edgecnn-bench")
    models = report["models"]
    rows = [{"file": name, "bytes": m["bytes"], "top1": m["accuracy"]["top1"], "median_ms": m["latency_ms"]["median"]}
            for name, m in zip(("fp32", "int8 without max_drop", "int8 with max_drop"), models)]
    return {"recipe": str(path), "max_drop": recipe["quantize"]["max_drop"], "samples": models[0]["accuracy"]["samples"],
            "runtime": f"{report['runtime']['name']} {report['runtime']['version']}", "threads": report["threads"],
            "rows": rows, "curve": (out / "quant_budget.md").read_text(), "build": str(out)}


def markdown(report):
    fp32 = report["rows"][0]
    lines = [f"`{report['recipe']}` (`quantize.max_drop: {report['max_drop']:g}`): the three files on the "
             f"{report['samples']:,} test images, one interleaved edgecnn-bench run ({report['runtime']}, "
             f"{report['threads']} thread(s)). The float tensors were chosen on the validation split (below); the "
             f"test set only measures the result.", "",
             "| file | size | top-1 (test) | vs fp32 | median ms | latency vs fp32 |", "|---|---:|---:|---:|---:|---:|"]
    for r in report["rows"]:
        lines.append(f"| {r['file']} | {r['bytes'] / 1024:.0f} KB | {100 * r['top1']:.2f} % | "
                     f"{100 * (r['top1'] - fp32['top1']):+.2f} | {r['median_ms']:.3f} | "
                     f"{r['median_ms'] / fp32['median_ms']:.2f}x |")
    plain, budgeted = report["rows"][1], report["rows"][2]
    drop = lambda r: 100 * (fp32["top1"] - r["top1"])
    lines += ["", f"On the test set plain int8 is {drop(plain):.2f} points below fp32 and the budgeted file "
                  f"{drop(budgeted):.2f}: " + ("within" if drop(budgeted) <= report["max_drop"] + 1e-9 else "not within")
              + f" the {report['max_drop']:g} points the recipe asks for.", "",
              "The curve, as the int8 conversion wrote it (`" + report["build"] + "/quant_budget.md`):", ""]
    curve = report["curve"].split("\n", 2)[2] if report["curve"].startswith("# ") else report["curve"]
    return "\n".join(lines) + "\n" + curve


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.study.max_drop", description=__doc__.split("\n\n")[0])
    p.add_argument("recipe", nargs="?", default=str(RECIPE))
    args = p.parse_args(argv)
    try:
        write(run(args.recipe), REPORT, markdown, invoked("edgecnn.study.max_drop", argv), packages=("edgecnn.bench",))
    except UserError as e:
        print(f"edgecnn: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
