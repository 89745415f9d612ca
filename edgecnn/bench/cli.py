"""edgecnn-bench: latency, memory and accuracy of any .tflite file, the way TFLite's benchmark_model does.

Uses argparse, numpy and a TFLite runtime only, so it runs on a device with nothing else installed.
"""

import argparse
import json
import os
import platform
import sys

from edgecnn.bench.labelled import DataError, load_labelled
from edgecnn.bench.measure import benchmark, peak_rss_mb
from edgecnn.bench.model_file import ModelFileError
from edgecnn.bench.runtime import RUNTIMES, RuntimeMissing, pick_runtime
from edgecnn.bench.table import render


def _at_least(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


def parser():
    p = argparse.ArgumentParser(
        prog="edgecnn-bench",
        description="Benchmark .tflite files: size, load time, latency statistics, memory and accuracy. "
                    "Several files are measured interleaved in one process, with ratios to the first.")
    p.add_argument("models", nargs="+", metavar="MODEL.tflite")
    p.add_argument("--data", help="labelled set for accuracy: an .npz with arrays x, y, or a folder of class folders")
    p.add_argument("--samples", type=_at_least(1), help="use only the first N labelled images")
    p.add_argument("--threads", type=_at_least(1), default=2, help="interpreter threads (default 2)")
    p.add_argument("--runs", type=_at_least(1), default=50, help="timed runs per model (default 50)")
    p.add_argument("--warmup", type=_at_least(0), default=5, help="untimed runs first (default 5)")
    p.add_argument("--runtime", choices=["auto", *RUNTIMES], default="auto")
    p.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")
    p.add_argument("--quiet", action="store_true", help="print no table (with --json)")
    return p


def run(args):
    runtime = pick_runtime(args.runtime)
    data = None
    if args.data:
        x, y, _ = load_labelled(args.data)
        data = (x[:args.samples], y[:args.samples]) if args.samples else (x, y)
    results = benchmark(args.models, runtime, args.threads, args.runs, args.warmup, data)
    report = {
        "runtime": {"name": runtime.name, "version": runtime.version},
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count()},
        "threads": args.threads, "data": args.data, "models": results, "peak_rss_mb": peak_rss_mb(),
    }
    if args.json:
        _write_json(args.json, report)
    return report


def _write_json(path, report):
    """Atomically, so an interrupted run never leaves half a file where a good one was."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        report = run(args)
    except (ModelFileError, DataError, RuntimeMissing) as e:
        print(f"edgecnn-bench: error: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
