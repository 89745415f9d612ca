"""The human-readable table of benchmark figures: one column per model, ratios to the first model."""

import csv
import io
import os

from edgecnn.bench import chance
from edgecnn.bench.delegation import left_text, split_note


def _fmt(value, unit):
    if value is None:
        return "-"
    if unit == "%":
        return f"{100 * value:.2f} %"
    if unit == "MB":
        return f"{value:.2f} MB"
    if unit == "ms":
        return f"{value:.3f} ms"
    return str(value)


ROWS = [
    ("file size", lambda r: r["bytes"] / 2**20, "MB"),
    ("init (load + allocate)", lambda r: r["init_ms"], "ms"),
    ("first inference", lambda r: r["first_inference_ms"], "ms"),
    ("warm-up run (mean)", lambda r: r.get("warmup_ms"), "ms"),
    ("latency median", lambda r: r["latency_ms"]["median"], "ms"),
    ("latency mean", lambda r: r["latency_ms"]["mean"], "ms"),
    ("latency p90", lambda r: r["latency_ms"]["p90"], "ms"),
    ("latency p99", lambda r: r["latency_ms"]["p99"], "ms"),
    ("latency std", lambda r: r["latency_ms"]["std"], "ms"),
    ("resident memory added", lambda r: r["rss_delta_mb"], "MB"),
    ("fully accelerated", lambda r: r.get("fully_accelerated"), ""),
    ("XNNPACK partitions", lambda r: r.get("xnnpack", {}).get("partitions"), ""),
    ("ops left to reference kernels", lambda r: left_text(r["xnnpack"]["left"]) if "xnnpack" in r else None, ""),
    ("ops left to the CPU (GPU path)", lambda r: (left_text(dict.fromkeys(r["gpu_left"], 1)) if r.get("gpu_left")
                                                  else "none" if r.get("fully_accelerated") else None), ""),
    ("top-1 accuracy", lambda r: r.get("accuracy", {}).get("top1"), "%"),
    ("top-5 accuracy", lambda r: r.get("accuracy", {}).get("top5"), "%"),
]
RATIO_ROWS = ("file size", "latency median", "top-1 accuracy")


def _compare(label, unit, first, value):
    """Ratios for sizes and times; accuracy differences in percentage points."""
    if label not in RATIO_ROWS or value is None or not first:
        return ""
    if unit == "%":
        return f"{100 * (value - first):+.2f} pt"
    return f"{value / first:.2f}x"


def short_names(paths):
    """File names, with their folder when two files share a name (build/a/int8.tflite, build/b/int8.tflite)."""
    names = [os.path.basename(p) for p in paths]
    if len(set(names)) == len(names):
        return names
    return [os.path.join(os.path.basename(os.path.dirname(os.path.abspath(p))), n) for p, n in zip(paths, names)]


PER_CLASS_SHOWN = 30     # classes listed one a row; with more, those where the files differ most


def per_class_rows(results, class_names=None):
    """(label, get, unit) rows of top-1 per class, when every file's accuracy has it: each class, or the
    PER_CLASS_SHOWN where the last file differs most from the first."""
    if not results or not all("per_class_top1" in r.get("accuracy", {}) for r in results):
        return []
    first, last = results[0]["accuracy"], results[-1]["accuracy"]
    classes = range(len(first["per_class_top1"]))
    if len(classes) > PER_CLASS_SHOWN:
        gap = lambda c: abs((last["per_class_top1"][c] or 0) - (first["per_class_top1"][c] or 0))
        classes = sorted(sorted(classes, key=gap, reverse=True)[:PER_CLASS_SHOWN])
    names = class_names if class_names and len(class_names) == len(first["per_class_top1"]) else None
    return [(f"top-1, {names[c] if names else f'class {c}'} ({first['per_class_images'][c]})",
             lambda r, c=c: r["accuracy"]["per_class_top1"][c], "%") for c in classes]


def where(report):
    """The line naming the machine the figures come from: the host of a --remote run, else this one."""
    far = report.get("remote")
    if far:
        return (f"measured on {far['host']} over ssh: {far['cpu']}, {far['machine']}, {far['cpus']} CPUs, "
                f"Python {far['python']}, numpy {far['numpy']}")
    here = report.get("machine", {})
    return (f"measured on {here['cpu']}, {here.get('machine', '?')}, {here.get('cpus', '?')} CPUs" if here.get("cpu")
            else None)


def render(report, class_names=None):
    """The table; with `class_names` (the data set's, in label order) the per-class rows name their class."""
    results = report["models"]
    names = short_names([r["path"] for r in results])
    header = ["", *names] + [f"{n} / {names[0]}" for n in names[1:]]
    lines = [header]
    per_class = per_class_rows(results, class_names)
    for label, get, unit in ROWS + per_class:
        values = [get(r) for r in results]
        if all(v is None for v in values):
            continue
        ratios = [_compare(label, unit, values[0], v) if (label, get, unit) not in per_class
                  else _compare("top-1 accuracy", unit, values[0], v) for v in values[1:]]
        lines.append([label, *(_fmt(v, unit) for v in values), *ratios])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in lines]
    rt = report["runtime"]
    acc = results[0].get("accuracy")
    kernels = "" if rt.get("xnnpack", True) else " (reference kernels, no XNNPACK)"
    kernels += f" (CompiledModel, {rt['accelerator']} accelerator)" if rt.get("accelerator") else ""
    text.insert(0, f"runtime {rt['name']} {rt['version']}{kernels}, {report['threads']} thread(s), "
                   f"{results[0]['latency_ms']['runs']} runs after {results[0]['warmup_runs']} warm-up, "
                   f"batch 1" + (f", accuracy on {acc['samples']} labelled images" if acc else ""))
    text[:0] = [where(report)] if where(report) else []
    for name, r in zip(names, results):
        text += chance.lines(name, r.get("accuracy"))
        note = split_note(name, r.get("xnnpack"), r.get("xnnpack", {}).get("integer"))
        text += [note] if note else []
        if r.get("gpu_left"):
            text.append(f"{name}: LiteRT's GPU accelerator leaves " + "; ".join(
                f"{op} ({why})" for op, why in r["gpu_left"].items()) + " to the CPU")
        if r.get("gpu_caveat"):
            text.append(f"{name}: {r['gpu_caveat']}")
        if r.get("gpu_software"):
            text.append(f"{name}: software GPU ({r.get('gpu_adapter')}, adapterType=CPU / Software): which ops run "
                        f"on the GPU path and what they compute, not GPU speed; its latencies above are the CPU's "
                        f"emulating a GPU")
    text.append(f"peak resident memory of the process: {report['peak_rss_mb']:.1f} MB; "
                f"growth over the timed runs: {report.get('rss_growth_mb', 0):+.2f} MB")
    text.append("per-op time: the Python runtimes do not expose TFLite's op profiler; "
                "benchmark_model --enable_op_profiling=true gives it")
    for row in report.get("overhead", []):
        text.append(f"bench overhead, {os.path.basename(row['path'])}: median {_fmt(row['bench_median_ms'], 'ms')} "
                    f"against a bare invoke() loop's {_fmt(row['bare_loop_ms'], 'ms')} per call "
                    f"({row['bench_median_ms'] / row['bare_loop_ms'] - 1:+.1%})")
    if report.get("thread_sweep"):
        text += ["", "median latency by thread count:"]
        text += [f"  {row['threads']:>3} thread(s): " + "  ".join(f"{n} {_fmt(v, 'ms')}" for n, v in zip(names, row["median_ms"]))
                 for row in report["thread_sweep"]]
    return "\n".join(text)


CSV_FIELDS = ["path", "bytes", "init_ms", "first_inference_ms", "warmup_ms", "median_ms", "mean_ms", "p90_ms",
              "p99_ms", "std_ms", "min_ms", "runs", "rss_delta_mb", "top1", "top5", "samples", "runtime", "threads"]


def to_csv(report):
    """One row per model, the figures of the table plus the runtime and thread count."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    runtime = f"{report['runtime']['name']} {report['runtime']['version']}"
    for r in report["models"]:
        lat, acc = r["latency_ms"], r.get("accuracy", {})
        writer.writerow({"path": r["path"], "bytes": r["bytes"], "init_ms": r["init_ms"],
                         "first_inference_ms": r["first_inference_ms"], "warmup_ms": r.get("warmup_ms"),
                         **{f"{k}_ms": lat[k] for k in ("median", "mean", "p90", "p99", "std", "min")},
                         "runs": lat["runs"], "rss_delta_mb": r["rss_delta_mb"], "top1": acc.get("top1"),
                         "top5": acc.get("top5"), "samples": acc.get("samples"), "runtime": runtime,
                         "threads": report["threads"]})
    return out.getvalue()
