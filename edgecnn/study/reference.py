"""`make reference`: the table people consult to pick an architecture, made on this device.

Every zoo model at its reference input (224x224x3 and the like, 1,000 classes; LeNet-5 and micro_cnn at
32x32x1, 10 classes), untrained with batch-norm statistics measured on 16 random images (see
int8_speed.recalibrated), converted as edgecnn converts (input scaling folded where it pays) to fp32,
fp16 and full-int8 with uint8 I/O, then every file in one interleaved benchmark at 1 thread. Params and
multiply-adds come from the zoo's Keras model (the inference model: GoogLeNet without its auxiliary
heads); the ImageNet top-1 is the paper's (edgecnn/zoo/published.py), never measured here: the models
are untrained, and latency does not depend on the weights' values.

    python -m edgecnn.study.reference [MODEL ...] [--runs 20]   -> reports/reference.md, .json, .png
"""

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

from edgecnn.artifacts import atomic_path, atomic_write
from edgecnn.study.provenance import cpu_name
from edgecnn.study.peer import write
from edgecnn.study.provenance import invoked

FORMATS = ("fp32", "fp16", "int8")
OUT = Path("build/reference")
REPORT = Path("reports/reference")


def make_files(name):
    """The model's three files under build/reference/, and what the table says of the model."""
    from edgecnn.convert import converter as convert
    from edgecnn.study.int8_speed import recalibrated
    from edgecnn.zoo.macs import count_macs
    from edgecnn.zoo.registry import build_model, entry, inference_model

    e = entry(name)
    images = np.random.default_rng(0).integers(0, 256, (16, *e.reference_input)).astype(np.uint8)
    model = inference_model(recalibrated(build_model(name, e.reference_input, e.reference_classes, {}), images))
    prepared, unfolded = convert.prepare(model)
    OUT.mkdir(parents=True, exist_ok=True)
    paths, started = {}, time.monotonic()
    for fmt in FORMATS:
        paths[fmt] = OUT / f"{name}-{fmt}.tflite"
        atomic_write(paths[fmt], convert.convert(prepared, fmt, images if fmt == "int8" else None))
    return paths, {"model": name, "family": e.family, "role": e.role,
                   "input": "x".join(map(str, e.reference_input)), "classes": e.reference_classes,
                   "params": int(model.count_params()), "macs": int(count_macs(model)),
                   "convert_s": time.monotonic() - started, "input_scaling_unfolded": unfolded}


def run(names, runs):
    from edgecnn.bench.measure import benchmark
    from edgecnn.bench.runtime import pick_runtime
    from edgecnn.zoo.published import published

    rows, files = [], []
    for name in names:
        paths, row = make_files(name)
        rows.append(row)
        files += [(row, fmt, str(path)) for fmt, path in paths.items()]
        print(f"{name}: {row['input']}, converted in {row['convert_s']:.0f} s", flush=True)
    runtime = pick_runtime()
    results, _ = benchmark([path for _, _, path in files], runtime, threads=1, runs=runs, warmup=2)
    for (row, fmt, _), result in zip(files, results):
        row.setdefault("bytes", {})[fmt] = result["bytes"]
        row.setdefault("median_ms", {})[fmt] = result["latency_ms"]["median"]
    for row in rows:
        paper = published(row["model"])
        row["published_top1"] = paper and {"top1": paper.top1, "source": paper.source}
    return {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_name() or platform.processor() or "?",
            "machine": platform.machine(), "runtime": f"{runtime.name} {runtime.version}", "threads": 1,
            "runs": runs, "rows": rows}


def _count(value):
    return f"{value / 1e9:.2f} G" if value >= 1e9 else f"{value / 1e6:.1f} M" if value >= 1e6 else f"{value / 1e3:.0f} K"


def markdown(report):
    lines = [f"Every zoo model at its reference input, untrained; each file's median of {report['runs']} runs in "
             f"one interleaved 1-thread benchmark of all {3 * len(report['rows'])} files; {report['runtime']} on "
             f"{report['cpu']} ({report['machine']}), {report['date']}. `make reference` wrote it. "
             "**ImageNet top-1 is published, not measured here** (sources below).", "",
             "| model | role | input | params | MACs | fp32 MB | fp16 MB | int8 MB | fp32 ms | fp16 ms | int8 ms "
             "| int8 / fp32 | ImageNet top-1, published |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    sources = []
    for r in sorted(report["rows"], key=lambda r: (r["role"] != "edge", r["median_ms"]["fp32"])):
        mb, ms = ({f: r[k][f] / 1e6 for f in FORMATS} if k == "bytes" else r[k] for k in ("bytes", "median_ms"))
        paper = r["published_top1"]
        if paper:
            sources.append(f"{len(sources) + 1}. {r['model']}: {paper['source']}")
        top1 = f"{paper['top1']:.1f} % [{len(sources)}]" if paper else "— (not ImageNet)"
        lines.append(f"| {r['model']} | {r['role']} | {r['input']} | {_count(r['params'])} | {_count(r['macs'])} "
                     f"| {mb['fp32']:.2f} | {mb['fp16']:.2f} | {mb['int8']:.2f} "
                     f"| {ms['fp32']:.2f} | {ms['fp16']:.2f} | {ms['int8']:.2f} "
                     f"| {ms['int8'] / ms['fp32']:.2f} | {top1} |")
    return "\n".join(lines + ["", "Published top-1 (ILSVRC-2012 validation set):", ""] + sources) + "\n"


def plot(report, path):
    """Published top-1 against measured latency: fp32 and int8 of each model joined by a line."""
    import matplotlib
    import matplotlib.lines
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 6))
    colours = {"edge": "tab:blue", "baseline": "tab:red"}
    for r in (r for r in report["rows"] if r["published_top1"]):
        top1, ms = r["published_top1"]["top1"], r["median_ms"]
        ax.plot([ms["fp32"], ms["int8"]], [top1, top1], color=colours[r["role"]], alpha=0.4, linewidth=1)
        ax.scatter(ms["fp32"], top1, marker="o", color=colours[r["role"]], edgecolors="black", linewidths=0.5)
        ax.scatter(ms["int8"], top1, marker="^", color=colours[r["role"]], edgecolors="black", linewidths=0.5)
        ax.annotate(r["model"], (ms["int8"], top1), textcoords="offset points", xytext=(4, 3), fontsize=7)
    handle = matplotlib.lines.Line2D
    ax.legend(handles=[handle([], [], marker="o", linestyle="", color="grey", label="fp32 file"),
                       handle([], [], marker="^", linestyle="", color="grey", label="int8 file"),
                       handle([], [], color=colours["edge"], label="edge model"),
                       handle([], [], color=colours["baseline"], label="baseline")], fontsize=8, loc="lower right")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_xlabel(f"median latency per image on this device, ms, 1 thread (log scale; {report['cpu']})")
    ax.set_ylabel("ImageNet top-1, % (published by the papers, not measured here)")
    ax.set_title(f"The zoo at its reference inputs: published accuracy against measured latency\n"
                 f"{report['runtime']}, {report['date']}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def main(argv=None):
    from edgecnn.zoo.registry import list_models, not_in_zoo

    p = argparse.ArgumentParser(prog="python -m edgecnn.study.reference", description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="*", metavar="MODEL", help="default: every model of the zoo")
    p.add_argument("--runs", type=int, default=20, help="timed runs of each file, interleaved (default 20)")
    args = p.parse_args(argv)
    unknown = not_in_zoo(args.models)
    if unknown:
        print(f"reference: {unknown}", file=sys.stderr)
        return 2
    report = run(args.models or list_models(), args.runs)
    write(report, REPORT, markdown, invoked("edgecnn.study.reference", argv), ("edgecnn.bench",))
    plot(report, REPORT.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
