"""`make gpu-check-delegate GPU_REPORT=reports/gpu_check_<gpu>.md`: what edgecnn.bench.gpu_check measured, written as
a report with the record of what made it (study/provenance.py), so that no GPU figure in docs/ is pasted by hand.

    python -m edgecnn.study.gpu_report GPU_CHECK.json --out reports/gpu_check_h100.md --command "make ..."

It reads the JSON gpu_check wrote (--json) and needs no TensorFlow: it runs on the GPU machine beside the check.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from edgecnn.artifacts import atomic_write
from edgecnn.bench.gpu_check import TOLERANCE, table
from edgecnn.study import provenance
from edgecnn.study.include import refresh


def render(report, command, made):
    rows = [r for r in report["rows"] if "error" not in r]
    adapters = sorted({r["gpu_adapter"] for r in rows if r.get("gpu_adapter")})
    passed = sum(r["passed"] for r in report["rows"])
    samples = sorted({r["gpu"]["accuracy"]["samples"] for r in rows if (r.get("gpu") or {}).get("accuracy")})
    lines = [f"`{command}` on {made['date']}"
             + (f", top-1 on {', '.join(f'{n:,}' for n in samples)} labelled images" if samples else "")
             + f": GPU {report['gpu']}; {report['runtime']}; LiteRT's GPU adapter: "
             f"{'; '.join(adapters) or 'not named in its log'}; host {made['cpu']} ({made['cores']} cores), CPU side "
             f"{report['threads']} threads.", ""]
    if report["software"]:
        lines += ["A software GPU: no latency is shown (its time is the CPU's).", ""]
    lines += [table(rows, report["threads"]) if rows else "No file was measured.", ""]
    lines += [f"- {r['path']}: not measured: {r['error']}" for r in report["rows"] if "error" in r]
    lines += [f"- {r['path']}: {r['caveat']}" for r in rows if r.get("caveat")]
    lines += [f"{passed} of {len(report['rows'])} files ran whole on the GPU with top-1 within {TOLERANCE} points of "
              f"the CPU path.", ""]
    return "\n".join(lines)


def write(json_path, out, command):
    try:
        report = json.loads(Path(json_path).read_text())
        report["rows"], report["gpu"], report["threads"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"gpu-report: {json_path} is not what gpu_check --json writes ({e}); run "
                         f"`make gpu-check-delegate` first.") from None
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    made = provenance.record(out, command, [], ("edgecnn.bench",))
    atomic_write(out, (render(report, command, made) + "\n" + provenance.footer(made)).encode())
    refresh(out)
    print(f"wrote {out} ({time.strftime('%Y-%m-%d')})")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.study.gpu_report", description=__doc__.split("\n\n")[0])
    p.add_argument("json", metavar="GPU_CHECK.json")
    p.add_argument("--out", required=True, help="the report to write, such as reports/gpu_check_h100.md")
    p.add_argument("--command", help="the command that ran the check (default: this one)")
    args = p.parse_args(argv)
    write(args.json, Path(args.out), args.command or provenance.invoked("edgecnn.study.gpu_report", argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
