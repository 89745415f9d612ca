"""`make device-check ARCH=aarch64 ARM_REPORT=reports/arm_check.md`: the files of a build on a 64-bit ARM runtime
under qemu-user against the host's (edgecnn/bench/emulated.py), written as a report with the record of what made
it, so that docs/benchmark.md's ARM table is generated.

    python -m edgecnn.study.arm_check ARM_ROOT FOLDER ... --samples N --report reports/arm_check
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def markdown(report):
    lines = [f"The files on aarch64 under qemu-user ({report['arm']['runtime']}, numpy {report['arm']['numpy']}) "
             f"against the host ({report['host']['machine']}, {report['host']['runtime']}) on the first "
             f"{report['samples']:,} test images of each; no latency (an emulator's time is not a board's).", "",
             "| file | loads on aarch64 | top-1 aarch64 | top-1 host | predictions differing |",
             "|---|---|---:|---:|---:|"]
    for f in report["files"]:
        if "top1_arm" not in f:
            lines.append(f"| {f['path']} | {'yes' if f['loaded'] else 'no'} | - | - | {f.get('error') or ''} |")
            continue
        lines.append(f"| {f['path']} | yes | {100 * f['top1_arm']:.2f} % | {100 * f['top1_host']:.2f} % "
                     f"| {f['differ']} of {f['images']}" + (f": {f['failed']}" if f["failed"] else "") + " |")
    return "\n".join(lines + ["", report["verdict"] + "."]) + "\n"


def main(argv=None):
    from edgecnn.study.peer import write
    from edgecnn.study.provenance import invoked

    p = argparse.ArgumentParser(prog="python -m edgecnn.study.arm_check", description=__doc__.split("\n\n")[0])
    p.add_argument("root")
    p.add_argument("folders", nargs="+")
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--report", default="reports/arm_check")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "arm.json"
        status = subprocess.call([sys.executable, "-m", "edgecnn.bench.emulated", args.root, *args.folders,
                                  "--samples", str(args.samples), "--json", str(out)])
        if not out.is_file():
            return status or 1
        report = json.loads(out.read_text())
    write(report, Path(args.report), markdown, invoked("edgecnn.study.arm_check", argv), ("edgecnn.bench",))
    return status


if __name__ == "__main__":
    sys.exit(main())
