"""Any files measured in one interleaved edgecnn-bench run, written as a report: median latency, the ratio to the
first file, top-1 on a labelled set, size. For a docs page that compares a few files of its own choosing.

    python -m edgecnn.study.bench_files FILE.tflite ... --data TESTSET.npz --out reports/NAME [--threads 1]
                                                                               [--runs 200] [--samples N]
"""

import argparse
import sys
from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.study.bench_run import run_bench


def markdown(report):
    models = report["models"]
    first = models[0]["latency_ms"]["median"]
    acc = report.get("data")
    lines = [f"One interleaved edgecnn-bench run over {len(models)} files: {report['runtime']['name']} "
             f"{report['runtime']['version']}, {report['threads']} thread(s), median of "
             f"{models[0]['latency_ms']['runs']} runs" + (f"; top-1 on {models[0]['accuracy']['samples']:,} labelled "
                                                         f"images of {acc}" if acc else "") + ".", "",
             "| file | size | median ms | / first |" + (" top-1 |" if acc else ""),
             "|---|---:|---:|---:|" + ("---:|" if acc else "")]
    for m in models:
        lines.append(f"| {m['path']} | {m['bytes'] / 1024:,.0f} KB | {m['latency_ms']['median']:.3f} "
                     f"| {m['latency_ms']['median'] / first:.2f} |"
                     + (f" {100 * m['accuracy']['top1']:.2f} % |" if acc else ""))
    return "\n".join(lines) + "\n"


def main(argv=None):
    from edgecnn.study.peer import write
    from edgecnn.study.provenance import invoked

    p = argparse.ArgumentParser(prog="python -m edgecnn.study.bench_files", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", metavar="FILE.tflite")
    p.add_argument("--data", help="a labelled .npz (build/<r>/testset.npz) for top-1")
    p.add_argument("--samples", type=int)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--out", required=True, help="the report's path without suffix, such as reports/hard_swish")
    args = p.parse_args(argv)
    try:
        report = run_bench(args.files, ["--threads", args.threads, "--runs", args.runs,
                                        *(["--data", args.data] if args.data else []),
                                        *(["--samples", args.samples] if args.samples else [])], "the named files")
    except UserError as e:
        print(f"bench-files: {e}", file=sys.stderr)
        return 2
    write(report, Path(args.out), markdown, invoked("edgecnn.study.bench_files", argv), ("edgecnn.bench",))
    return 0


if __name__ == "__main__":
    sys.exit(main())
