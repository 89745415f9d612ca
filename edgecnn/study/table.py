"""The comparison table: one row per (model, variant), latency relative to a reference model's fp32 file,
and the Pareto front of accuracy against latency."""

import csv
import io
from dataclasses import asdict, dataclass

from edgecnn.errors import UserError


@dataclass
class Row:
    model: str
    variant: str
    params: int
    macs: int
    bytes: int
    top1: float
    median_ms: float
    role: str = ""          # edge or baseline (the zoo's)
    best: bool = False      # the variant `edgecnn optimize` chose for this model


def pareto(rows):
    """The rows no other row beats: none is at least as fast and at least as accurate, and better in one."""
    def beaten(r):
        return any(o.median_ms <= r.median_ms and o.top1 >= r.top1 and (o.median_ms, o.top1) != (r.median_ms, r.top1)
                   for o in rows)
    return sorted((r for r in rows if not beaten(r)), key=lambda r: r.median_ms)


def reference_row(rows, model="vgg16", variant="fp32"):
    for r in rows:
        if (r.model, r.variant) == (model, variant):
            return r
    raise UserError(f"the comparison has no {model} {variant} row to measure latency against; "
                    f"build it with make build/<{model} recipe>/{variant}.tflite.")


COLUMNS = ["model", "role", "variant", "params", "MACs", "size", "top-1", "median ms", "latency vs vgg16", "vgg16 / size",
           "Pareto"]


def _cells(r, ref, front):
    return [r.model, r.role, f"{r.variant} (best)" if r.best else r.variant, f"{r.params / 1e6:.2f} M", f"{r.macs / 1e6:.1f} M", f"{r.bytes / 1024:.0f} KB",
            f"{100 * r.top1:.2f} %", f"{r.median_ms:.3f}", f"{r.median_ms / ref.median_ms:.3f}x",
            f"{ref.bytes / r.bytes:.1f}x", "yes" if r in front else ""]


def markdown(rows, reference):
    front = pareto(rows)
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(r, reference, front)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def to_csv(rows, reference):
    front = pareto(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, [*asdict(rows[0]), "latency_vs_reference", "pareto"], lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**asdict(r), "latency_vs_reference": r.median_ms / reference.median_ms,
                         "pareto": r in front})
    return out.getvalue()
