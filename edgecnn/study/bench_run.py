"""What the study commands that measure built files share: one interleaved edgecnn-bench run in a child
process over every file (top-1 on a test set, latency), and the small command line around a report."""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from edgecnn.artifacts import read_json
from edgecnn.errors import UserError
from edgecnn.study.peer import write
from edgecnn.study.provenance import invoked


def run_bench(files, options, what, python=None):
    """One edgecnn-bench run over `files` (interleaved) with the command-line `options`, in a child process of
    `python` (default: this one) without TensorFlow; its JSON report. UserError naming `what` when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        status = subprocess.call([str(python or sys.executable), "-m", "edgecnn.bench", *map(str, files),
                                  *map(str, options), "--json", str(out), "--quiet"])
        if status:
            raise UserError(f"the benchmark of {what}'s {len(files)} files failed (exit {status}); see above.")
        return read_json(out)


def bench(files, testset, runs, warmup, what):
    """({path: the benchmark's entry}, runtime) for `files`, measured together, 1 thread."""
    report = run_bench(files, ["--threads", 1, "--runs", runs, "--warmup", warmup, "--data", testset], what)
    return {m["path"]: m for m in report["models"]}, report["runtime"]


def main(argv, module, doc, label, run, markdown, report, runs, runs_help):
    """python -m MODULE [--runs N]: run(runs) written as REPORT.json and .md; a UserError is one sentence."""
    p = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=runs, help=runs_help)
    args = p.parse_args(argv)
    try:
        write(run(args.runs), report, markdown, invoked(module, argv), ("edgecnn.bench",))
    except UserError as e:
        print(f"{label}: {e}", file=sys.stderr)
        return 2
    return 0
