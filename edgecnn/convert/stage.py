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
    blob = conv.convert(model, fmt, calibration, recipe["convert"]["int8_io"], sparse=source.stored_sparse(fmt),
                        keep_float=keep, said=said)
    out = recipe.build_dir / f"{variant}.tflite"
    atomic_write(out, blob)
    record(recipe, out, fmt)
    return (f"wrote {out}: {len(blob):,} bytes in {time.monotonic() - started:.1f} s"
            + (f" ({len(keep)} tensors kept float)" if keep else "")
            + (f"; input scaling left unfolded: {unfolded}" if unfolded else "")
            + "".join(f"; {sentence}" for sentence in said))


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
