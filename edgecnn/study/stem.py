"""`make stem-trade`: the study's stem choice at 32x32 measured. Below 96x96 the zoo's edge models run
their stem at stride 1 (recipes/compare_<model>.yaml) so a 32x32 image does not end at 1x1 features;
recipes/stride2_<model>.yaml keeps the ImageNet stem's stride 2. Both train on the study's budget. For
each: multiply-adds (the zoo's Keras model), top-1 of the fp32 and int8 files on all test images and
their median latency in one interleaved 1-thread edgecnn-bench run, and the tensor arena TensorFlow Lite
Micro needs for the int8 file (its own interpreter, bisected to 16 bytes).

    python -m edgecnn.study.stem [--runs 100]     (the files first: make stem-trade)   -> reports/stem_trade.md, .json
"""

import platform
import sys
import time
from pathlib import Path

from edgecnn.artifacts import read_json
from edgecnn.errors import UserError
from edgecnn.study import bench_run
from edgecnn.study.bench_run import bench
from edgecnn.study.compare import Build, size_of
from edgecnn.study.provenance import cpu_name

STRIDES = {1: "compare_{}", 2: "stride2_{}"}
FORMATS = ("fp32", "int8")
REPORT = Path("reports/stem_trade")


def models(recipes="recipes"):
    return sorted(p.stem.removeprefix("stride2_") for p in Path(recipes).glob("stride2_*.yaml"))


def builds(root="build"):
    """(model, stride, Build) for every model and stride; UserError naming the make target when a file is missing."""
    out = []
    for model in models():
        for stride, pattern in STRIDES.items():
            folder = Path(root) / pattern.format(model)
            needed = [folder / "recipe.json", folder / "testset.npz", *(folder / f"{f}.tflite" for f in FORMATS)]
            missing = [str(p) for p in needed if not p.is_file()]
            if missing:
                raise UserError(f"{missing[0]} is missing: `make stem-trade` builds every file the stem trade measures.")
            out.append((model, stride, Build(folder, read_json(folder / "recipe.json"), "", {})))
    return out


def run(runs, root="build"):
    from edgecnn.bench.tflm import Refused, measure_arena

    found = builds(root)
    testsets = {(b.folder / "testset.npz").read_bytes() for _, _, b in found}
    if len(testsets) != 1:
        raise UserError("the stem trade's builds have different test sets; their recipes must share "
                        "recipes/_compare.yaml's dataset section.")
    files = [str(b.file(f)) for _, _, b in found for f in FORMATS]
    measured, runtime = bench(files, found[0][2].folder / "testset.npz", runs, 5, "the stem trade")
    rows = []
    for model, stride, b in found:
        params, macs = size_of(b.recipe, measured[str(b.file("fp32"))]["outputs"][0]["shape"][-1])
        try:
            arena, refused = measure_arena(b.file("int8")).smallest, None
        except Refused as e:                 # TFLM's own limits (MobileNetV3 Large: more buffers than it takes)
            arena, refused = None, str(e)
        row = {"model": model, "stem_stride": stride, "recipe": b.folder.name, "params": int(params), "macs": int(macs),
               "arena_bytes": arena, "tflm_refused": refused}
        for f in FORMATS:
            m = measured[str(b.file(f))]
            row[f] = {"top1": m["accuracy"]["top1"], "median_ms": m["latency_ms"]["median"], "bytes": m["bytes"]}
        rows.append(row)
        print(f"{model} stride {stride}: fp32 {100 * row['fp32']['top1']:.2f} %, int8 {row['int8']['median_ms']:.3f} ms, "
              f"arena {f'{arena:,} B' if arena else refused}", flush=True)
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?",
            "machine": platform.machine(), "runtime": f"{runtime['name']} {runtime['version']}", "threads": 1,
            "runs": runs, "test_images": measured[files[0]]["accuracy"]["samples"], "rows": rows}


def markdown(report):
    lines = [f"The study's edge models at 32x32x1 (Fashion-MNIST, the `compare` budget: one epoch of 30,000 images), "
             f"stem at stride 1 (`compare_<model>`) and stride 2 (`stride2_<model>`). Top-1 on all "
             f"{report['test_images']:,} test images; latency the median of {report['runs']} runs in one interleaved "
             f"1-thread run of all {2 * len(report['rows'])} files; arena: TensorFlow Lite Micro's, int8 file. "
             f"{report['runtime']} on {report['cpu']} ({report['machine']}), {report['date']}. "
             "`make stem-trade` wrote it.", "",
             "| model | stem stride | MACs | fp32 top-1 | int8 top-1 | fp32 ms | int8 ms | int8 arena KB "
             "| stride 1 / stride 2: MACs, int8 ms, arena, int8 top-1 points |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    by_key = {(r["model"], r["stem_stride"]): r for r in report["rows"]}
    for r in report["rows"]:
        trade = ""
        if r["stem_stride"] == 1 and (r["model"], 2) in by_key:
            s2 = by_key[(r["model"], 2)]
            arenas = (f"{r['arena_bytes'] / s2['arena_bytes']:.2f}x" if r["arena_bytes"] and s2["arena_bytes"]
                      else "—")
            trade = (f"{r['macs'] / s2['macs']:.2f}x, {r['int8']['median_ms'] / s2['int8']['median_ms']:.2f}x, "
                     f"{arenas}, {100 * (r['int8']['top1'] - s2['int8']['top1']):+.2f}")
        arena = f"{r['arena_bytes'] / 1024:.0f}" if r["arena_bytes"] else "TFLM refuses"
        lines.append(f"| {r['model']} | {r['stem_stride']} | {r['macs'] / 1e6:.1f} M | {100 * r['fp32']['top1']:.2f} % "
                     f"| {100 * r['int8']['top1']:.2f} % | {r['fp32']['median_ms']:.3f} | {r['int8']['median_ms']:.3f} "
                     f"| {arena} | {trade} |")
    refusals = sorted({r["tflm_refused"] for r in report["rows"] if r["tflm_refused"]})
    return "\n".join(lines + ([""] + [f"TFLite Micro: {why}" for why in refusals] if refusals else [])) + "\n"


def main(argv=None):
    return bench_run.main(argv, "edgecnn.study.stem", __doc__, "stem-trade", run, markdown, REPORT, 100,
                          "timed runs of each file, interleaved (default 100)")


if __name__ == "__main__":
    sys.exit(main())
