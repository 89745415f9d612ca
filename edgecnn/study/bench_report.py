"""`edgecnn report RECIPE --out reports/X.md`: a recipe's bench table (edgecnn/measure.py) written as a report,
with the record of what made it (study/provenance.py); `make demo` writes reports/demo.md this way."""

import time

from edgecnn.artifacts import atomic_write
from edgecnn.errors import UserError
from edgecnn.measure import report as table_of
from edgecnn.study import provenance
from edgecnn.study.include import refresh


RESTS_ON = ("model.keras", "testset.npz", "fp32.tflite", "int8.tflite", "bench.json")   # what the table is made of


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
    text = (f"`{command}` after `make {recipe.build_dir / 'bench.json'}` on {time.strftime('%Y-%m-%d')}, "
            f"{made['cpu']} ({made['cores']} cores):\n\n```\n{table.rstrip()}\n```\n\n" + provenance.footer(made))
    atomic_write(out, text.encode())
    refresh(out)
    return table, missed
