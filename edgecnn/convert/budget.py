"""quantize.max_drop: an int8 file held to an accuracy budget. The tensors the quantization debugger finds worst
(RMSE / scale, compress/debug.py) go back to float in growing groups (1, 2, 4, 8, ... of them, worst first) until
int8's top-1 on the validation split is within max_drop points of the fp32 file's there. The test set is never
looked at. Every step's file is measured on the runtime (top-1 in-process through the benchmark's code, latency in
one interleaved edgecnn-bench run of all steps and fp32, without TensorFlow), and build/<r>/quant_budget.md shows
the curve: the points each step recovered against the latency and size it paid, the set chosen, why it stopped."""

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from edgecnn.compress.debug import layer_of


@dataclass
class Step:
    floats: int                  # worst tensors returned to float (on top of the recipe's keep_float/keep_worst)
    top1: float                  # on the validation split
    bytes: int
    blob: bytes = field(repr=False)
    median_ms: float = None
    rounds: tuple = ()


def sizes(count):
    """The group sizes tried: 0 (plain int8), 1, 2, 4, ... up to every quantized tensor."""
    out, k = [0], 1
    while k < count:
        out.append(k)
        k *= 2
    return out + [count] if count else out


def search(count, evaluate, reference, max_drop):
    """The steps tried, in order, and the index of the chosen one: the first within `max_drop` points of
    `reference` (fp32's top-1), else the one with the highest top-1 (fewer float tensors on a tie).
    evaluate(k) -> Step with the k worst tensors float."""
    steps = []
    for k in sizes(count):
        steps.append(evaluate(k))
        if 100 * (reference - steps[-1].top1) <= max_drop + 1e-9:
            return steps, len(steps) - 1
    best = max(range(len(steps)), key=lambda i: (steps[i].top1, -steps[i].floats))
    return steps, best


def latencies(recipe, steps, fp32_blob):
    """Median and round medians of every step's file and fp32's, one interleaved edgecnn-bench run (its own
    process, no TensorFlow, no test data)."""
    from edgecnn.measure import _child

    cfg = recipe["bench"]
    with tempfile.TemporaryDirectory(prefix="quant-budget-") as tmp:
        files = [Path(tmp) / "fp32.tflite"] + [Path(tmp) / f"float{s.floats}.tflite" for s in steps]
        for path, blob in zip(files, [fp32_blob] + [s.blob for s in steps]):
            path.write_bytes(blob)
        out = Path(tmp) / "bench.json"
        _child(["-m", "edgecnn.bench", *map(str, files), "--threads", str(cfg["threads"]), "--runs", str(cfg["runs"]),
                "--warmup", str(cfg["warmup"]), "--json", str(out), "--quiet"])
        models = json.loads(out.read_text())["models"]
    for s, m in zip(steps, models[1:]):
        s.median_ms, s.rounds = m["latency_ms"]["median"], tuple(m["latency_ms"].get("round_medians", ()))
    return models[0]["latency_ms"]["median"]


def gap(reference, top1):
    """'0.30 points below fp32', '0.03 points above fp32' or 'equal to fp32'."""
    d = round(100 * (reference - top1), 2)
    return "equal to fp32" if d == 0 else f"{abs(d):.2f} points {'below' if d > 0 else 'above'} fp32"


def report(recipe, steps, chosen, reference, fp32_ms, rows, max_drop, validation):
    """quant_budget.md's text."""
    plain, pick = steps[0], steps[chosen]
    met = 100 * (reference - pick.top1) <= max_drop + 1e-9
    lines = [f"# {recipe.name}: int8 within {max_drop:g} points of fp32 on the validation split", "",
             f"fp32's top-1 on the {validation:,} validation images: {100 * reference:.2f} %, {fp32_ms:.3f} ms "
             f"(median, the same interleaved run as the steps; {recipe['bench']['threads']} thread(s)). The test set "
             f"is not used.", "",
             "| float tensors | top-1 (validation) | vs fp32 | recovered vs int8 | size | size vs int8 | median ms | "
             "rounds' medians, ms | latency vs int8 | |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for i, s in enumerate(steps):
        lines.append(f"| {s.floats} | {100 * s.top1:.2f} % | {100 * (s.top1 - reference):+.2f} | "
                     f"{100 * (s.top1 - plain.top1):+.2f} | {s.bytes / 1024:.0f} KB | {s.bytes / plain.bytes:.2f}x | "
                     f"{s.median_ms:.3f} | {min(s.rounds, default=s.median_ms):.3f}-{max(s.rounds, default=s.median_ms):.3f} | "
                     f"{s.median_ms / plain.median_ms:.2f}x | {'**chosen**' if i == chosen else ''} |")
    if met:
        why = (f"plain int8 is already within the budget ({gap(reference, pick.top1)})" if chosen == 0 else
               f"{pick.floats} float tensors bring int8 within {max_drop:g} points ({gap(reference, pick.top1)}); "
               f"fewer did not")
    else:
        why = (f"no set of float tensors met the budget: with all {steps[-1].floats} quantized tensors float, int8 is "
               f"{gap(reference, steps[-1].top1)}; the best reached is {gap(reference, pick.top1)} with {pick.floats} "
               f"float, which is the file written")
    lines += ["", f"Stopped: {why}."]
    if pick.floats:
        layers = sorted({name for row in rows[:pick.floats] for name in layer_of(row["tensor_name"])})
        lines += ["", f"Float in the chosen file (the debugger's worst {pick.floats}, RMSE / scale): "
                      + ", ".join(f"`{name}`" for name in layers) + "."]
    return "\n".join(lines) + "\n", met
