"""`make app-check APP_REPORT=reports/app_check`: what edgecnn.export.app_check measured on the app runtimes,
written as reports/app_check.md and .json with the record of what made it (study/provenance.py); docs/apps.md
includes it."""

from pathlib import Path

from edgecnn.export.app_check import TOLERANCE_PT


def render(report):
    rows = report["rows"]
    lines = ["Each file exported as an Android and an iOS bundle (`edgecnn export --format android|ios`, metadata and "
             "labels embedded), classified through each runtime's ImageClassifier, against edgecnn-bench "
             f"({report['runtime']}) on the same test images. An int8 file's uint8 scores sometimes tie at the top: "
             "top-1 breaks ties as edgecnn-bench's argmax does (the lower class index); the runtime's own order and "
             "the images with a shared top score are shown beside it.", "",
             "| file | bundle | runtime | top-1 | edgecnn-bench top-1 | difference | top-1 in its own order | "
             "images with a tie at the top | images | category names |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        names = (f"all {r['categories']} class names" if not r["unknown_categories"]
                 else f"not class names: {', '.join(r['unknown_categories'])}")
        lines.append(f"| {r['file']} | {r['bundle']} | {r['runtime']} | {100 * r['top1']:.2f} % | "
                     f"{100 * r['bench_top1']:.2f} % | {r['diff_pt']:+.2f} pt | {100 * r['top1_own_order']:.2f} % | "
                     f"{r['top_ties']:,} | {r['images']:,} | {names} |")
    passed = sum(r["passed"] for r in rows)
    lines += ["", f"{passed} of {len(rows)} checks within {TOLERANCE_PT} points of edgecnn-bench with every category "
                  f"name a class name."]
    return "\n".join(lines)


def write(rows, base):
    from edgecnn.bench.runtime import pick_runtime
    from edgecnn.study.peer import write as write_report
    from edgecnn.study.provenance import invoked

    runtime = pick_runtime()
    report = {"runtime": f"{runtime.name} {runtime.version}", "rows": rows}
    # app_classify.py runs in the runtimes' own envs, never imported here: named, as the bench is
    write_report(report, Path(base), render, invoked("edgecnn"),
                 packages=("edgecnn.bench", "edgecnn.export.app_runtime.app_classify"))


def check(paths, pythons, samples, report=None, echo=print):
    """edgecnn app-check: every file on each runtime (export/app_check.py), the report written when asked; the exit
    status (0 when every check passed)."""
    from edgecnn.export.app_check import run

    status, rows = run(paths, pythons, samples, echo=echo)
    if report:
        write(rows, report)
    return status
