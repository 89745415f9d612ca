"""`make runtimes`: the same files on the two TFLite runtimes a device may have, with and without XNNPACK.

LiteRT (ai-edge-litert, this environment) and tflite-runtime 2.14 with numpy<2 (the device env that `make test`
builds, .device-venv: no TensorFlow), each running edgecnn-bench over the files interleaved, once with XNNPACK
and once on the runtime's reference kernels (--no-xnnpack): four runs, their medians in one table, written as
reports/runtimes.md and .json.

    python -m edgecnn.study.runtimes [FILE.tflite ...] [--runs 200] [--threads 1]
                                                     (default: the demo's int8.tflite and fp32.tflite)
"""

import argparse
import sys
from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.study.bench_run import run_bench

DEMO = Path("build/fashion_mnist_mobilenet_v2")
DEVICE_PYTHON = Path(".device-venv/bin/python")
REPORT = Path("reports/runtimes")


def environments():
    """(label, python) of each runtime's environment that exists here."""
    out = [("this env", Path(sys.executable))]
    if DEVICE_PYTHON.is_file():
        out.append(("device env", DEVICE_PYTHON))
    return out


def bench(python, files, runs, threads, xnnpack):
    return run_bench(files, ["--runs", runs, "--threads", threads, *([] if xnnpack else ["--no-xnnpack"])],
                     f"{python}'s runtime", python)


def run(files, runs, threads):
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise UserError(f"{missing[0]} does not exist: build it first (`make {missing[0]}`).")
    results = []
    for label, python in environments():
        for xnnpack in (True, False):
            report = bench(python, files, runs, threads, xnnpack)
            results.append({"env": label, "xnnpack": xnnpack, "runtime": report["runtime"],
                            "median_ms": {m["path"]: m["latency_ms"]["median"] for m in report["models"]}})
    return {"files": [str(f) for f in files], "runs": runs, "threads": threads, "results": results}


def markdown(report):
    files = report["files"]
    runtimes = []
    for r in report["results"]:
        name = f"{r['runtime']['name']} {r['runtime']['version']}"
        if name not in runtimes:
            runtimes.append(name)
    lines = [f"Median latency of each file, one edgecnn-bench run per runtime and kernel set (files interleaved, "
             f"{report['runs']} runs, {report['threads']} thread(s), batch 1). `make runtimes` wrote it.", "",
             "| runtime | " + " | ".join(f"{Path(f).name}, {k}" for k in ("XNNPACK", "reference kernels")
                                         for f in files) + " |",
             "|---|" + "---:|" * (2 * len(files))]
    for name in runtimes:
        cells = []
        for xnnpack in (True, False):
            r = next((r for r in report["results"] if f"{r['runtime']['name']} {r['runtime']['version']}" == name
                      and r["xnnpack"] == xnnpack), None)
            cells += [f"{r['median_ms'][f]:.3f} ms" if r else "-" for f in files]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    from edgecnn.study.peer import write
    from edgecnn.study.provenance import invoked

    p = argparse.ArgumentParser(prog="python -m edgecnn.study.runtimes", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="*", default=[str(DEMO / "int8.tflite"), str(DEMO / "fp32.tflite")])
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    try:
        report = run([Path(f) for f in args.files], args.runs, args.threads)
    except UserError as e:
        print(f"runtimes: {e}", file=sys.stderr)
        return 2
    write(report, REPORT, markdown, invoked("edgecnn.study.runtimes", argv), ("edgecnn.bench",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
