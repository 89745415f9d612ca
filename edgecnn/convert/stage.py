"""The convert step Make runs (`edgecnn convert`): a Keras model under build/<r>/ to
build/<r>/<variant>.tflite, with the recipe's input handling, calibration and float layers; and
`edgecnn quant-report`, the per-layer int8 error those float layers are chosen from."""

import time

from edgecnn.artifacts import atomic_write, record
from edgecnn.compress.debug import layer_errors, layer_of, tensors_for, write_report
from edgecnn.compress.stage import load_source
from edgecnn.convert import converter as conv
from edgecnn.variants import parse_source, parse_tflite
from edgecnn.data.calibration import for_recipe


def _prepared(recipe, model, fmt=None):
    cfg = recipe["convert"]
    return conv.prepare(model, cfg["rgb_input"], cfg["fold_input"], grouped=cfg["grouped_conv"], gpu=fmt == "fp16")


def _errors(model, calibration):
    """The quantization debugger's rows for the model's int8 conversion, worst first."""
    return layer_errors(conv.configure(model, "int8", calibration), calibration)


def convert(recipe, variant):
    """Write build/<r>/<variant>.tflite; the line to print."""
    source, fmt = parse_tflite(variant)
    model, unfolded = _prepared(recipe, load_source(recipe, source), fmt)
    calibration = for_recipe(recipe) if fmt in conv.CALIBRATED else None
    keep = keep_float(recipe, model, calibration) if fmt == "int8" and source.kind != "qat" else []
    started = time.monotonic()
    said = []
    max_drop = recipe["quantize"]["max_drop"] if fmt == "int8" else None
    if max_drop is not None and source.kind == "qat":
        said.append(f"quantize.max_drop does not apply to {variant}: a QAT model's ranges were trained with it, so "
                    f"it is converted whole")
    if max_drop is not None and source.kind != "qat":
        blob = within_budget(recipe, variant, model, calibration, keep, max_drop, said)
    else:
        blob = conv.convert(model, fmt, calibration, recipe["convert"]["int8_io"], sparse=source.stored_sparse(fmt),
                            keep_float=keep, said=said)
    out = recipe.build_dir / f"{variant}.tflite"
    atomic_write(out, blob)
    record(recipe, out, fmt)
    return (f"wrote {out}: {len(blob):,} bytes in {time.monotonic() - started:.1f} s"
            + (f" ({len(keep)} tensors kept float)" if keep else "")
            + (f"; input scaling left unfolded: {unfolded}" if unfolded else "")
            + "".join(f"; {sentence}" for sentence in said))


def within_budget(recipe, variant, model, calibration, keep, max_drop, said):
    """The int8 bytes with as few of the worst tensors float as bring top-1 on the validation split within
    `max_drop` points of fp32's (convert/budget.py); writes build/<r>/quant_budget[_<source>].md."""
    from edgecnn.bench.measure import Loaded
    from edgecnn.bench.runtime import pick_runtime
    from edgecnn.convert import budget
    from edgecnn.data.calibration import as_files_take
    from edgecnn.data.datasets import load_splits

    data = load_splits(recipe["dataset"], recipe["train"]["seed"])
    x, y = as_files_take(recipe, data.x_val), data.y_val
    runtime = pick_runtime()
    tmp = recipe.build_dir / f".{variant}.budget.tflite"

    def top1(blob):                      # the benchmark's own code path, on this process's runtime
        tmp.write_bytes(blob)
        try:
            return Loaded(tmp, runtime, recipe["bench"]["threads"]).accuracy(x, y)["top1"]
        finally:
            tmp.unlink()

    rows = _errors(model, calibration)
    io = recipe["convert"]["int8_io"]

    fp32 = conv.convert(model, "fp32")

    def evaluate(k):
        names = sorted(set(keep) | {row["tensor_name"] for row in rows[:k]})
        if len(names) >= len(rows):          # every quantized tensor float: the float file (the debugger refuses
            blob = fp32                      # a model with nothing left to quantize)
        else:
            blob = conv.convert(model, "int8", calibration, io, keep_float=names, said=said if not k else None)
        return budget.Step(k, top1(blob), len(blob), blob)

    reference = top1(fp32)
    steps, chosen = budget.search(len(rows), evaluate, reference, max_drop)
    fp32_ms = budget.latencies(recipe, steps, fp32)
    text, met = budget.report(recipe, steps, chosen, reference, fp32_ms, rows, max_drop, len(y))
    out = recipe.build_dir / ("quant_budget.md" if variant == "int8" else f"quant_budget_{variant[:-len('-int8')]}.md")
    atomic_write(out, text.encode())
    record(recipe, out, "int8")
    pick = steps[chosen]
    said.append(f"quantize.max_drop {max_drop:g}: " + (
        f"{pick.floats} of the {len(rows)} quantized tensors float, {budget.gap(reference, pick.top1)} on "
        f"{len(y):,} validation images" if met else
        f"not met: the best reached is {budget.gap(reference, pick.top1)} on the validation split, with "
        f"{pick.floats} tensors float") + f" (the curve: {out})")
    return pick.blob


def keep_float(recipe, model, calibration):
    """Debugger tensor names to leave float: the recipe's named layers and its N worst."""
    cfg = recipe["quantize"]
    if not cfg["keep_float"] and not cfg["keep_worst"]:
        return []
    rows = _errors(model, calibration)
    named = tensors_for(rows, cfg["keep_float"]) if cfg["keep_float"] else []
    return sorted(set(named) | {row["tensor_name"] for row in rows[:cfg["keep_worst"]]})


def quant_report(recipe, top):
    """Write build/<r>/quant_errors.csv (every quantized tensor's RMSE / scale); the lines to print."""
    model, _ = _prepared(recipe, load_source(recipe, parse_source("model")))
    calibration = for_recipe(recipe)
    rows = _errors(model, calibration)
    out = recipe.build_dir / "quant_errors.csv"
    write_report(rows, out)
    record(recipe, out, "int8")
    lines = [f"wrote {out}; worst {min(top, len(rows))} of {len(rows)} quantized tensors (RMSE/scale):"]
    lines += [f"  {row['rmse/scale']:8.3f}  {row['op_name']:<18} {', '.join(sorted(layer_of(row['tensor_name'])))}"
              for row in rows[:top]]
    return lines
