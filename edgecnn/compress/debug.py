"""Per-layer quantization error (the converter's QuantizationDebugger) and selective quantization.

The error measure is TFLite's own suggestion: RMSE between the float and the int8 result of each
quantized tensor, divided by its quantization scale. About 0.3 is the rounding error alone (1/sqrt(12));
layers far above that are the ones worth keeping in float.
"""

import csv
import io
import math

from edgecnn.data.calibration import representative
from edgecnn.errors import UserError
from edgecnn.tf import tf


def layer_errors(converter, calibration):
    """Rows (dicts) of the debugger's per-tensor statistics plus 'rmse/scale', worst first."""
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter,
                                                         debug_dataset=representative(calibration))
    debugger.run()
    buf = io.StringIO()
    debugger.layer_statistics_dump(buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    for row in rows:
        scale = float(row["scale"])
        row["rmse/scale"] = math.sqrt(float(row["mean_squared_error"])) / scale if scale else 0.0
    return sorted(rows, key=lambda r: -r["rmse/scale"])


def layer_of(tensor_name):
    """The Keras layer names a converted tensor came from ('model/block_1_expand/Conv2D' -> block_1_expand)."""
    return {part.split("/")[1] for part in tensor_name.split(";") if part.count("/") >= 2}


def tensors_for(rows, layers):
    """Debugger tensor names that belong to the named Keras layers; UserError for a name not found."""
    found = {}
    for row in rows:
        for layer in layer_of(row["tensor_name"]) & set(layers):
            found.setdefault(layer, []).append(row["tensor_name"])
    missing = [name for name in layers if name not in found]
    if missing:
        known = sorted({name for row in rows for name in layer_of(row["tensor_name"])})
        raise UserError(f"quantize.keep_float names {', '.join(missing)}, which the int8 file does not "
                        f"have as quantized layers; quantized layers: {', '.join(known)}.")
    return sorted({t for names in found.values() for t in names})


def selective(converter, calibration, keep_float):
    """int8 bytes with the given debugger tensors left float (their neighbours get (de)quantize ops).

    The debugger's model keeps float32 input and output whatever the converter asked for.
    """
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(keep_float))
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter,
                                                         debug_dataset=representative(calibration),
                                                         debug_options=options)
    return debugger.get_nondebug_quantized_model()


def write_report(rows, path):
    from edgecnn.artifacts import atomic_write

    buf = io.StringIO()
    fields = ["layers", "op_name", "rmse/scale", "max_abs_error", "mean_error", "scale", "zero_point", "tensor_name"]
    writer = csv.DictWriter(buf, fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "layers": " ".join(sorted(layer_of(row["tensor_name"]))),
                         "rmse/scale": f"{row['rmse/scale']:.4f}"})
    atomic_write(path, buf.getvalue().encode())
