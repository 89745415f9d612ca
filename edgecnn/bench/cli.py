"""edgecnn-bench: latency, memory and accuracy of any .tflite file, the way TFLite's benchmark_model does.

Uses argparse, numpy and a TFLite runtime only, so it runs on a device with nothing else installed.
"""

import argparse
import json
import os
import platform
import sys

from edgecnn.bench.atomic import write_atomically
from edgecnn.bench.compiled import ACCELERATORS
from edgecnn.bench.labelled import DataError, load_labelled
from edgecnn.bench.measure import benchmark, overhead, peak_rss_mb
from edgecnn.bench.model_file import ModelFileError
from edgecnn.bench import remote
from edgecnn.bench.remote_host import cpu_model
from edgecnn.bench.runtime import RUNTIMES, RuntimeMissing, pick_runtime
from edgecnn.bench.table import render, to_csv


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


def _list_of(item):
    """A comma-separated list of `item`s."""
    def parse(text):
        return [item(part) for part in text.split(",")]
    return parse


def _input_shape(text):
    """[NAME=]D,D,... -> (NAME or None, [D, ...])."""
    name, _, dims = text.rpartition("=")
    try:
        shape = [int(d) for d in dims.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected [NAME=]D,D,... such as 1,224,224,3, got '{text}'") from None
    if any(d < 1 for d in shape):
        raise argparse.ArgumentTypeError(f"dimensions must be >= 1, got '{text}'")
    return name or None, shape


def _index_range(text):
    """[NAME=]N -> (NAME or None, N)."""
    name, _, value = text.rpartition("=")
    try:
        high = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected [NAME=]N such as ids=1000, got '{text}'") from None
    if high < 1:
        raise argparse.ArgumentTypeError(f"N must be >= 1, got '{text}'")
    return name or None, high


def parser():
    p = argparse.ArgumentParser(
        prog="edgecnn-bench",
        description="Benchmark .tflite files: size, load time, latency statistics, memory and accuracy. "
                    "Several files are measured interleaved in one process, with ratios to the first.")
    p.add_argument("models", nargs="+", metavar="MODEL.tflite")
    p.add_argument("--data", help="labelled set for accuracy: an .npz with arrays x, y, or a folder of class folders")
    p.add_argument("--fit", choices=("auto", "pad", "resize"), default="auto",
                   help="a --data folder's images to the model input: pad, resize, or auto (pad what fits, resize "
                        "what does not; default)")
    p.add_argument("--samples", type=_at_least(1), help="use only the first N labelled images")
    p.add_argument("--threads", type=_list_of(_at_least(1)), default=[2], metavar="N[,N...]",
                   help="interpreter threads (default 2); a list such as 1,2,4 also sweeps the latency over them")
    p.add_argument("--runs", type=_at_least(1), default=50, help="timed runs per model (default 50)")
    p.add_argument("--warmup", type=_at_least(0), default=5, help="untimed runs first (default 5)")
    p.add_argument("--runtime", choices=["auto", *RUNTIMES, "tflm"], default="auto",
                   help="tflm: TensorFlow Lite Micro's own interpreter (pip package tflite-micro): the arena it "
                        "needs and, with --data, accuracy there and agreement with the default runtime")
    p.add_argument("--no-xnnpack", action="store_true", help="the runtime's reference kernels, without XNNPACK")
    p.add_argument("--accelerator", choices=ACCELERATORS, help="run through LiteRT's CompiledModel on this "
                   "accelerator (gpu falls back to cpu for ops it lacks; the report says if all ran on it)")
    p.add_argument("--input-shape", type=_input_shape, action="append", default=[], metavar="[NAME=]D,D,...",
                   help="shape for dynamic inputs (all of them, or the one named); repeatable")
    p.add_argument("--index-range", type=_index_range, action="append", default=[], metavar="[NAME=]N",
                   help="int32/int64 inputs (indices, sizes) get random integers 0 to N-1 (default 10); all of them, "
                        "or the one named; repeatable. 8- and 16-bit inputs always span their whole range")
    p.add_argument("--overhead", action="store_true",
                   help="also measure the bench's own overhead: its median against a bare invoke() loop")
    p.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")
    p.add_argument("--csv", metavar="OUT", help="also write one row of figures per model as CSV to OUT")
    p.add_argument("--quiet", action="store_true", help="print no table (with --json)")
    remote = p.add_argument_group("on another machine over SSH (the system's ssh; the host needs Python 3 and a "
                                  "TFLite runtime, nothing of ours: the bench and the files are copied, once)")
    remote.add_argument("--remote", metavar="[USER@]HOST[:PORT]", help="run the benchmark on HOST and print its "
                        "figures here, headed with its CPU and runtime")
    remote.add_argument("--remote-python", metavar="PATH", help="the host's Python (default python3)")
    remote.add_argument("--remote-cache", metavar="DIR", help="the host's folder for the copied bench and files "
                        "(default ~/.cache/edgecnn-bench)")
    remote.add_argument("--ssh-config", metavar="FILE", help="ssh's configuration file (ssh -F), for keys, ports "
                        "and aliases not in ~/.ssh/config (default: $EDGECNN_SSH_CONFIG when set)")
    return p


def run(args):
    for out in (args.json, args.csv):
        _check_writable(out)
    if args.remote:
        return _written(args, remote.run(args))
    if args.runtime == "tflm":
        return run_tflm(args)
    runtime = pick_runtime(args.runtime)
    data = _data(args, runtime)
    options = {"xnnpack": not args.no_xnnpack, "input_shapes": dict(args.input_shape), "index_ranges": dict(args.index_range),
               "accelerator": args.accelerator}
    first, *more = args.threads
    results, growth = benchmark(args.models, runtime, first, args.runs, args.warmup, data, **options)
    report = {
        "runtime": {"name": runtime.name, "version": runtime.version, "xnnpack": options["xnnpack"],
                    "accelerator": args.accelerator},
        "machine": {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "cpu": cpu_model()},
        "threads": first, "data": args.data, "models": results, "rss_growth_mb": growth,
    }
    if more:
        report["thread_sweep"] = [{"threads": first, "median_ms": [r["latency_ms"]["median"] for r in results]}]
        for threads in more:
            swept, _ = benchmark(args.models, runtime, threads, args.runs, args.warmup, None, guard=False,
                                     **options)
            report["thread_sweep"].append({"threads": threads, "median_ms": [r["latency_ms"]["median"] for r in swept]})
    if args.overhead:
        report["overhead"] = []
        for path in args.models:
            timed, bare = overhead(path, runtime, first, args.runs, **options)
            report["overhead"].append({"path": path, "bench_median_ms": timed, "bare_loop_ms": bare})
    report["peak_rss_mb"] = peak_rss_mb()
    return _written(args, report)


def _written(args, report):
    """The report, written to --json and --csv (each whole or not at all)."""
    if args.json:
        write_atomically(args.json, json.dumps(report, indent=2) + "\n")
    if args.csv and args.runtime == "tflm":
        from edgecnn.bench import tflm

        write_atomically(args.csv, tflm.to_csv(report))
    elif args.csv:
        write_atomically(args.csv, to_csv(report))
    return report


def _data(args, runtime=None):
    """The labelled set; a folder's images are fitted to the first model's input as training fits them
    (--fit, default auto: pad what fits, resize what does not)."""
    if not args.data:
        return None
    if os.path.isdir(args.data) and args.models:
        from edgecnn.bench.images import read_folder_fitted

        try:
            details = (runtime or pick_runtime("auto")).interpreter(args.models[0], 1).get_input_details()
            shape = details[0]["shape"][1:] if details else None
        except (ValueError, RuntimeError):
            shape = None            # the benchmark names what is wrong with the file
        if shape is not None and len(shape) == 3:
            x, y, _ = read_folder_fitted(args.data, shape, args.fit)
            return (x[:args.samples], y[:args.samples]) if args.samples else (x, y)
    x, y, _ = load_labelled(args.data)
    return (x[:args.samples], y[:args.samples]) if args.samples else (x, y)


def run_tflm(args):
    """Each file on TFLite Micro: the arena it needs, and accuracy there next to the default runtime's."""
    from edgecnn.bench import tflm

    tflm.require()
    data = _data(args)
    try:
        reference = pick_runtime("auto") if data is not None else None
    except RuntimeMissing:
        reference = None
    report = {"runtime": {"name": "tflm", "version": tflm.version()}, "version": tflm.version(),
              "data": args.data, "models": [tflm.report(path, data, reference) for path in args.models]}
    return _written(args, report)


def _check_writable(path):
    """Before the work: a --json/--csv whose folder is missing would lose the whole run at the end."""
    if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise DataError(f"{path}: the folder {os.path.dirname(os.path.abspath(path))} does not exist; "
                        f"create it or write the report elsewhere.")


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        report = run(args)
    except (ModelFileError, DataError, RuntimeMissing, remote.RemoteError) as e:
        print(f"edgecnn-bench: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nedgecnn-bench: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except OSError as e:
        if os.environ.get("EDGECNN_DEBUG") == "1":
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"edgecnn-bench: error: {where}{e.strerror or e}; check the path and its permissions.", file=sys.stderr)
        return 2
    except Exception as e:                                  # noqa: BLE001 - the boundary: a bug, said as one
        if os.environ.get("EDGECNN_DEBUG") == "1":
            raise
        first = (str(e).strip().splitlines() or [""])[0][:200]
        print(f"edgecnn-bench: internal error: {type(e).__name__}: {first}. This is a bug of edgecnn-bench: rerun "
              f"with EDGECNN_DEBUG=1 for the traceback and report it with the command.", file=sys.stderr)
        return 1
    if not args.quiet:
        if args.runtime == "tflm":
            from edgecnn.bench.tflm import render as render_tflm

            print(render_tflm(report))
        else:
            print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
