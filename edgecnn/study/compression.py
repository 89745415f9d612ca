"""`make compression`: what each compression step costs and buys on one recipe, as a report. The table is
`edgecnn optimize`'s (build/<r>/optimize.md: every candidate measured in one interleaved run), followed by the
compression targets, each computed from it: met or missed, by how much.

    python -m edgecnn.study.compression [RECIPE] [--out reports/compression.md]

It measures nothing itself: `make compression` runs optimize first (fine-tuning every compressed candidate the
recipe names; about half an hour on 2 cores for the demo recipe).
"""

import argparse
import sys
from pathlib import Path

from edgecnn.artifacts import atomic_write, read_json
from edgecnn.errors import UserError

DEMO = "recipes/fashion_mnist_mobilenet_v2.yaml"
# (variant, points of top-1 it may lose against fp32): the targets tests/test_pipeline.py holds on its small recipe
DROPS = (("int8", 1.0), ("qat-int8", 0.5), ("pruned-50-int8", 1.0), ("pruned-80-int8", 2.5),
         ("pruned-80-qat-int8", 2.5), ("pruned-80-clustered-8-int8", 2.5))
GZIP = ("pruned-80-clustered-8-int8", "int8", 0.45)    # its gzip size at most this share of the dense int8 file's


def targets(summary):
    """The sentences: each target the candidates allow checking, with the measured figure."""
    rows = {c["variant"]: c for c in summary["candidates"]}
    fp32 = rows["fp32"]
    lines = []
    for variant, limit in DROPS:
        if variant in rows:
            drop = 100 * (fp32["top1"] - rows[variant]["top1"])
            lines.append(f"- {variant}: {-drop:+.2f} points against fp32 (target: at most {limit:g} lost): "
                         f"{'met' if drop <= limit + 1e-9 else 'MISSED'}.")
    small, dense, share = GZIP
    if small in rows and dense in rows:
        ratio = rows[small]["gzip_bytes"] / rows[dense]["gzip_bytes"]
        lines.append(f"- {small}: {ratio:.3f}x the {dense} file's gzip size ({rows[small]['gzip_bytes'] / 1024:.0f} "
                     f"against {rows[dense]['gzip_bytes'] / 1024:.0f} KB; target: at most {share:g}x): "
                     f"{'met' if ratio <= share else 'MISSED'}.")
    pruned = [v for v in rows if v.startswith("pruned") and v.endswith("fp32")]
    for v in pruned:
        lines.append(f"- {v}: {rows[v]['median_ms'] / fp32['median_ms']:.2f}x fp32's median latency "
                     f"({rows[v]['bytes'] / rows['fp32']['bytes']:.2f}x its size, stored sparse).")
    return lines


def second_choice(recipe, first):
    """Run `edgecnn optimize` once more on the same files (a second interleaved benchmark) and say whether it
    chose the same file; the first run's optimize.json/.md and best.tflite are put back, so the report's table
    and best.tflite stay the first run's."""
    import shutil
    import subprocess
    import tempfile

    folder = recipe.build_dir
    names = ("optimize.json", "optimize.md", "optimize_bench.json", "best.tflite", "manifest.json")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            shutil.copy2(folder / name, Path(tmp) / name)
        proc = subprocess.run([sys.executable, "-m", "edgecnn", "optimize", str(recipe.path)], capture_output=True,
                              text=True)
        second = read_json(folder / "optimize.json") if proc.returncode == 0 else None
        for name in names:
            shutil.copy2(Path(tmp) / name, folder / name)
    if second is None:
        raise UserError(f"the second `edgecnn optimize {recipe.path}` failed: "
                        f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    same = second["best"] == first["best"]
    return (f"A second `edgecnn optimize` on the same files, its own interleaved run, chose "
            f"{second['best']}: {'the same file' if same else 'a different file than ' + first['best']} "
            f"({second['why']})")


def write(recipe_path, out, again=True):
    from edgecnn import recipe as recipes
    from edgecnn.study import provenance
    from edgecnn.study.include import refresh

    recipe = recipes.load(recipe_path)
    folder = recipe.build_dir
    try:
        summary, table = read_json(folder / "optimize.json"), (folder / "optimize.md").read_text()
    except (UserError, OSError):
        raise UserError(f"{folder}/optimize.json is missing: run `make {folder}/best.tflite` (or `make compression`) "
                        f"first.") from None
    command = f"python -m edgecnn.study.compression {recipe_path} --out {out}"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    again = second_choice(recipe, summary) if again else None
    made = provenance.record(out, command, [recipe.path], builds=[folder])
    text = (f"`make {folder}/best.tflite` (edgecnn optimize), then `{command}`, on {made['cpu']} "
            f"({made['cores']} cores), the table as optimize wrote it ({folder}/optimize.md):\n\n"
            f"{table.rstrip()}\n\n" + (f"{again}\n\n" if again else "")
            + "The compression targets, computed from that table:\n\n"
            + "\n".join(targets(summary)) + "\n\n" + provenance.footer(made))
    atomic_write(out, text.encode())
    refresh(out)
    return text


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.study.compression", description=__doc__.split("\n\n")[0])
    p.add_argument("recipe", nargs="?", default=DEMO)
    p.add_argument("--out", default="reports/compression.md")
    args = p.parse_args(argv)
    try:
        print(write(args.recipe, Path(args.out)))
    except UserError as e:
        print(f"compression: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
