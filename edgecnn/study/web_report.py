"""`make web-check WEB_REPORT=reports/web_check`: what edgecnn.export.web_check measured in Chromium, written as
reports/web_check.md and .json with the record of what made it (study/provenance.py), and the screenshot of the
page classifying a test image as reports/web_check.png (docs/web.md shows both)."""

from pathlib import Path

from edgecnn.export.web_check import TOLERANCE_PT


def render(report):
    rows = report["rows"]
    lines = [f"The page `edgecnn export --format web` writes, served on 127.0.0.1 and run in {rows[0]['browser']} "
             f"(headless, puppeteer-core) through LiteRT.js {report['litertjs']}, against edgecnn-bench "
             f"({report['runtime']}) on the same {rows[0]['images']:,} test images. WebGPU ran on "
             f"{report['gpu']}: its time is a software GPU's, not a GPU's.", "",
             "| file | ran on | page top-1 | edgecnn-bench top-1 | difference | same class as LiteRT | "
             "PNG files fitted alike | ms an image |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['file']} | {r['ran']} | {100 * r['top1']:.2f} % | {100 * r['bench_top1']:.2f} % | "
                     f"{r['diff_pt']:+.2f} pt | {r['same_class']}/{r['images']} | {r['pngs_fitted_equal']}/{r['pngs']} | "
                     f"{r['ms_per_image']:.2f} |")
    passed = sum(r["passed"] for r in rows)
    lines += ["", f"{passed} of {len(rows)} runs within {TOLERANCE_PT} points of edgecnn-bench, every PNG file fitted "
                  f"to the pixels edgecnn predict feeds." if passed == len(rows) else
              f"{passed} of {len(rows)} runs passed (top-1 within {TOLERANCE_PT} points, PNG files fitted alike)."]
    return "\n".join(lines)


def write(results, base, command, litertjs, gpu):
    from edgecnn.bench.runtime import pick_runtime
    from edgecnn.study.peer import write as write_report

    runtime = pick_runtime()
    report = {"litertjs": litertjs, "gpu": gpu, "runtime": f"{runtime.name} {runtime.version}",
              "rows": [{**r.figures, "passed": r.status == "ok"} for r in results if r.figures]}
    write_report(report, Path(base), render, command, packages=("edgecnn.bench",))


def check(paths, samples=1000, port=8000, report=None, echo=print):
    """edgecnn web-check: every file on both paths (export/web_check.py), the report written when asked;
    the exit status (0 when every run passed)."""
    from edgecnn.export.web import litertjs_version
    from edgecnn.export.web_check import run
    from edgecnn.study.provenance import invoked

    shot = Path(report).with_suffix(".png") if report else None
    if shot:
        shot.parent.mkdir(parents=True, exist_ok=True)
    results = run(paths, samples, port, shot, echo=echo)
    if report:
        adapters = sorted({r.figures["adapter"] for r in results if r.accelerator == "webgpu" and r.figures.get("adapter")})
        write(results, report, invoked("edgecnn"), litertjs_version(), "; ".join(adapters) or "an unnamed adapter")
    return 0 if all(r.status == "ok" for r in results) else 1
