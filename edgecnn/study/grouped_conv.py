"""Grouped convolutions in TFLite: ResNeXt-50 (32x4d) with each grouped 3x3 convolution as one native
CONV_2D (the converter's default: the filter holds width/groups input channels) against the same
weights split per group (SPLIT -> 32 CONV_2D -> CONCATENATION, `convert.grouped_conv: split`), fp32 and
int8, on XNNPACK and on the runtime's own kernels, untrained with batch-norm statistics taken from the
images (as int8_speed.py). --input measures one of the two inputs only; --width and --cardinality build
a narrower ResNeXt (its builder's options; the report names them).

    python -m edgecnn.study.grouped_conv [--repeats 3] [--input 32x32x1] [--width 128] [--cardinality 32]
                                                                    -> reports/grouped_conv.md, .json
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from edgecnn.artifacts import atomic_write
from edgecnn.errors import UserError
from edgecnn.study.provenance import cpu_name
from edgecnn.study.int8_speed import recalibrated
from edgecnn.study.peer import write
from edgecnn.study.provenance import invoked

MODEL = "resnext50_32x4d"
SIZES = {"32x32x1": ((32, 32, 1), 10), "224x224x3": ((224, 224, 3), 1000)}
OUT = Path("build/grouped_conv")
REPORT = Path("reports/grouped_conv")


def op_counts(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(path),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    ops = [op["op_name"] for op in interp._get_ops_details()]
    return {name: ops.count(name) for name in ("CONV_2D", "SPLIT", "CONCATENATION")}


def medians(paths, runtime, xnnpack, repeats, runs):
    from edgecnn.bench.measure import benchmark

    rows = []
    for _ in range(repeats):
        results, _ = benchmark(paths, runtime, 1, runs, warmup=2, xnnpack=xnnpack)
        rows.append([r["latency_ms"]["median"] for r in results])
    return [statistics.median(column) for column in zip(*rows)]


def run(repeats, inputs=tuple(SIZES), options=None):
    """inputs: the SIZES labels to measure; options: ResNeXt's builder options (width, cardinality)."""
    from edgecnn.convert import converter as convert
    from edgecnn.bench.runtime import pick_runtime
    from edgecnn.zoo.registry import build_model

    runtime = pick_runtime()
    rows = []
    for label in inputs:
        shape, classes = SIZES[label]
        images = np.random.default_rng(0).integers(0, 256, (8, *shape)).astype(np.uint8)
        model = recalibrated(build_model(MODEL, shape, classes, options), images)
        folder = OUT / label
        folder.mkdir(parents=True, exist_ok=True)
        for fmt in ("fp32", "int8"):
            paths = {}
            for form in ("native", "split"):
                prepared, _ = convert.prepare(model, grouped=form)
                paths[form] = folder / f"{form}-{fmt}.tflite"
                atomic_write(paths[form], convert.convert(prepared, fmt, images if fmt == "int8" else None))
            files = [str(paths["native"]), str(paths["split"])]
            runs = 20 if label == "32x32x1" else 5
            for xnnpack in (True, False):
                native_ms, split_ms = medians(files, runtime, xnnpack, repeats, runs)
                rows.append({"input": label, "format": fmt, "kernels": "XNNPACK" if xnnpack else "builtin",
                             "native_ms": native_ms, "split_ms": split_ms, "split_over_native": split_ms / native_ms,
                             "ops": {form: op_counts(p) for form, p in paths.items()},
                             "bytes": {form: p.stat().st_size for form, p in paths.items()}})
                print(f"{label} {fmt} {rows[-1]['kernels']}: native {native_ms:.2f} ms, split {split_ms:.2f} ms",
                      flush=True)
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?",
            "machine": platform.machine(), "runtime": f"{runtime.name} {runtime.version}", "model": MODEL,
            "options": options or {}, "repeats": repeats, "rows": rows}


def described(report):
    """The model as the report names it: with the builder options it was built at, when any."""
    options = ", ".join(f"{k} {v}" for k, v in report.get("options", {}).items())
    return f"{report['model']} ({options})" if options else report["model"]


def markdown(report):
    first = report["rows"][0]["ops"]
    groups = report.get("options", {}).get("cardinality", 32)
    lines = [f"{described(report)}'s 16 grouped 3x3 convolutions ({groups} groups) as native grouped CONV_2D against "
             f"split per group ({first['split']['SPLIT']} SPLIT, {first['split']['CONV_2D']} CONV_2D, "
             f"{first['split']['CONCATENATION']} CONCATENATION ops against {first['native']['CONV_2D']} CONV_2D); "
             f"untrained, median of {report['repeats']} interleaved 1-thread runs; {report['runtime']} on "
             f"{report['cpu']} ({report['machine']}), {report['date']}. "
             f"`python -m edgecnn.study.grouped_conv` wrote it.", "",
             "| input | format | kernels | native ms | split ms | split / native | bytes native / split |",
             "|---|---|---|---:|---:|---:|---|"]
    for r in report["rows"]:
        lines.append(f"| {r['input']} | {r['format']} | {r['kernels']} | {r['native_ms']:.2f} | {r['split_ms']:.2f} "
                     f"| {r['split_over_native']:.2f} | {r['bytes']['native']:,} / {r['bytes']['split']:,} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.study.grouped_conv", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs per file pair (default 3)")
    p.add_argument("--input", action="append", choices=list(SIZES),
                   help=f"measure this input only (repeatable; default both: {', '.join(SIZES)})")
    p.add_argument("--width", type=int, help="ResNeXt's first grouped width (default the paper's 128)")
    p.add_argument("--cardinality", type=int, help="groups of each grouped convolution (default the paper's 32)")
    args = p.parse_args(argv)
    options = {k: v for k, v in (("width", args.width), ("cardinality", args.cardinality)) if v is not None}
    try:
        report = run(args.repeats, list(dict.fromkeys(args.input or SIZES)), options)
    except UserError as e:
        print(f"grouped-conv: {e}", file=sys.stderr)
        return 2
    write(report, REPORT, markdown, invoked("edgecnn.study.grouped_conv", argv), ("edgecnn.bench",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
