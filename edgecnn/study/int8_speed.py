"""`make int8-speed`: every edge model's int8 file against its fp32 file, at the reference input
(224x224x3, 1,000 classes) and the study's 32x32x1 (10 classes), untrained but with batch-norm
statistics measured on the calibration images (at their initial values some tensors never leave zero,
a quantization scale of 0 that XNNPACK refuses, which a trained model does not have), with the number of
partitions XNNPACK split each file into (the LiteRT interpreter's execution plan: one DELEGATE node
per partition; more than one means operators between them left XNNPACK for the runtime's own kernels).

    python -m edgecnn.study.int8_speed [MODEL ...] [--repeats 3]     -> reports/int8_speed.md, .json

`--as-built --input 96x96x3 --report reports/int8_as_built` keeps the batch-norm statistics at their
initial values and takes one input size (10 classes): calibration then leaves tensors a near-zero range,
and the row says what convert did about it (edgecnn/convert/ranges.py).
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from edgecnn.artifacts import atomic_write
from edgecnn.study.provenance import cpu_name
from edgecnn.study.peer import measure, write
from edgecnn.study.provenance import invoked

SIZES = {"224x224x3": ((224, 224, 3), 1000), "32x32x1": ((32, 32, 1), 10)}
TARGET = 0.8            # int8 at most this fraction of the fp32 median
OUT = Path("build/int8_speed")
REPORT = Path("reports/int8_speed")


def edge_models():
    from edgecnn.zoo.registry import entry, list_models

    return [name for name in list_models() if entry(name).role == "edge"]


def recalibrated(model, images):
    """Every BatchNormalization's moving mean and variance set to those of `images` passing through."""
    bns = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    momenta = [layer.momentum for layer in bns]
    for layer in bns:
        layer.momentum = 0.0
    model(images.astype(np.float32), training=True)
    for layer, momentum in zip(bns, momenta):
        layer.momentum = momentum
    return model


def partitions(path):
    from edgecnn.convert.ranges import partitions as count

    return count(Path(path).read_bytes())[0]


def run(names, repeats, sizes=SIZES, as_built=False):
    from edgecnn.convert import converter as convert
    from edgecnn.zoo.registry import build_model

    rows = []
    for name in names:
        for label, (shape, classes) in sizes.items():
            images = np.random.default_rng(0).integers(0, 256, (16, *shape)).astype(np.uint8)
            built = build_model(name, shape, classes, {})
            model, _ = convert.prepare(built if as_built else recalibrated(built, images))
            folder = OUT / (label + ("-as-built" if as_built else ""))
            folder.mkdir(parents=True, exist_ok=True)
            paths, said = [], []
            for fmt in ("fp32", "int8"):
                path = folder / f"{name}-{fmt}.tflite"
                atomic_write(path, convert.convert(model, fmt, images if fmt == "int8" else None, said=said))
                paths.append(str(path))
            medians, runtime = measure(paths, repeats)
            ratio = statistics.median(m[1] / m[0] for m in medians)
            rows.append({"model": name, "input": label, "fp32_ms": statistics.median(m[0] for m in medians),
                         "int8_ms": statistics.median(m[1] for m in medians), "int8_over_fp32": ratio,
                         "partitions": {"fp32": partitions(paths[0]), "int8": partitions(paths[1])},
                         **({"convert_said": said[0]} if said else {})})
            print(f"{name} {label}: int8 / fp32 {ratio:.2f}", flush=True)
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?", "machine": platform.machine(),
            "runtime": f"{runtime.name} {runtime.version}", "threads": 1, "repeats": repeats, "rows": rows,
            "as_built": as_built}


def markdown(report):
    made = ("`python -m edgecnn.study.int8_speed " + " ".join(sorted({r["model"] for r in report["rows"]})) +
            f" --as-built --input {report['rows'][0]['input']}` wrote it; batch-norm statistics as built"
            if report.get("as_built") else "`make int8-speed` wrote it")
    lines = [f"{'The' if report.get('as_built') else 'Every edge'} model's int8 file (uint8 I/O) against its fp32 "
             f"file, untrained; median of {report['repeats']} interleaved 1-thread runs; {report['runtime']} on "
             f"{report['cpu']} ({report['machine']}), {report['date']}. {made}. Target: int8 <= {TARGET}x fp32.",
             "", "| model | input | fp32 ms | int8 ms | int8 / fp32 | XNNPACK partitions fp32 / int8 |",
             "|---|---|---:|---:|---:|---|"]
    for r in report["rows"]:
        flag = "" if r["int8_over_fp32"] <= TARGET else " (over)"
        lines.append(f"| {r['model']} | {r['input']} | {r['fp32_ms']:.3f} | {r['int8_ms']:.3f} "
                     f"| {r['int8_over_fp32']:.2f}{flag} | {r['partitions']['fp32']} / {r['partitions']['int8']} |")
    said = [f"- {r['model']} {r['input']}: convert said: {r['convert_said']}." for r in report["rows"]
            if r.get("convert_said")]
    return "\n".join(lines + ([""] + said if said else [])) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.study.int8_speed", description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", metavar="MODEL", help="default: every edge model of the zoo")
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs per model and input (default 3)")
    p.add_argument("--as-built", action="store_true", help="batch-norm statistics at their initial values")
    p.add_argument("--input", metavar="HxWxC", help="one input size, 10 classes (default: 224x224x3 and 32x32x1)")
    p.add_argument("--report", default=str(REPORT), help=f"report base name (default {REPORT})")
    args = p.parse_args(argv)
    try:
        sizes = {args.input: (tuple(int(v) for v in args.input.split("x")), 10)} if args.input else SIZES
        assert all(len(shape) == 3 for shape, _ in sizes.values())
    except (ValueError, AssertionError):
        print(f"int8-speed: --input {args.input} is not a size like 96x96x3 (height x width x channels).",
              file=sys.stderr)
        return 2
    edge = edge_models()
    unknown = [m for m in args.models if m not in edge]
    if unknown:
        print(f"int8-speed: {', '.join(unknown)} is not an edge model of the zoo; they are {', '.join(edge)}.",
              file=sys.stderr)
        return 2
    write(run(args.models or edge, args.repeats, sizes, args.as_built), Path(args.report), markdown,
          invoked("edgecnn.study.int8_speed", argv), ("edgecnn.bench",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
