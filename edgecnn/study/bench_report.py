"""`edgecnn report RECIPE --out reports/X.md`: a recipe's bench table (edgecnn/measure.py) written as a report,
with the record of what made it (study/provenance.py); `make demo` writes reports/demo.md this way."""

import time

from edgecnn.artifacts import atomic_write, read_json
from edgecnn.errors import UserError
from edgecnn.measure import report as table_of
from edgecnn.study import provenance
from edgecnn.study.include import refresh


RESTS_ON = ("model.keras", "testset.npz", "fp32.tflite", "int8.tflite", "bench.json")   # what the table is made of


def training(history_path):
    """One sentence on how model.keras was trained, from its history.json (each epoch's seconds and validation
    top-1, as `edgecnn train` logged them); None when there is no such log."""
    try:
        rows = [r for r in read_json(history_path) if "seconds" in r]
    except (OSError, ValueError, TypeError):
        return None
    if not rows:
        return None
    seconds = [r["seconds"] for r in rows]
    text = (f"Training (build/{history_path.parent.name}/history.json): {len(rows)} epochs of "
            f"{min(seconds):.0f}-{max(seconds):.0f} s, {sum(seconds) / 60:.1f} min in all")
    runs = len({r.get("run") for r in rows})
    text += f" over {runs} runs (resumed)" if runs > 1 else ""
    val = [(r["val_accuracy"], r["epoch"]) for r in rows if "val_accuracy" in r]
    if val:
        best, earlier = max(val), val[max(0, len(val) - 11)]
        text += (f"; validation top-1 {100 * val[-1][0]:.2f} % after epoch {val[-1][1]}, its best {100 * best[0]:.2f} % "
                 f"after epoch {best[1]}" + (f", {100 * earlier[0]:.2f} % after epoch {earlier[1]}"
                                             if earlier not in (best, val[-1]) else ""))
    return text + "."


def report(recipe, out=None):
    """(the table, the sentence naming the targets missed or None), as measure.report; with `out`, the table
    written there too: what printed it, where, when, and the record; the docs blocks including it rewritten."""
    table, missed = table_of(recipe)
    if out is None:
        return table, missed
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"--out {out}: its folder cannot be made ({e.strerror}); name a file in a folder you can "
                        f"write.") from None
    command = f"edgecnn report {recipe.path} --out {out}"
    made = provenance.record(out, command, [recipe.path], ("edgecnn.bench",), builds=[recipe.build_dir],
                             artifacts=RESTS_ON)
    trained = training(recipe.build_dir / "history.json")
    text = (f"`{command}` after `make {recipe.build_dir / 'bench.json'}` on {time.strftime('%Y-%m-%d')}, "
            f"{made['cpu']} ({made['cores']} cores):\n\n```\n{table.rstrip()}\n```\n\n"
            + (trained + "\n\n" if trained else "") + provenance.footer(made))
    atomic_write(out, text.encode())
    refresh(out)
    return table, missed
