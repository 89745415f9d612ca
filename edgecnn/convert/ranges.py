"""Near-zero calibration ranges in an int8 file, and the scales that keep it in one XNNPACK partition.

A layer whose activations barely moved on the calibration images (an untrained model, a dead channel) gets
a scale of 1e-6 or less. XNNPACK takes an int8 ADD or SUB only when each input's scale is at least 2^-10 of
the output's; below that it leaves the op to TFLite's reference kernels and splits the graph around it (an
untrained MobileNet v3 Small: 17 hard-swish ADDs, 18 partitions, int8 slower than fp32).

Such an input carries nothing the ADD's output can show: its whole range is below one output step. So
`widen` raises its scale to 2^-10 of the output's, which rounds the same values to the same output, and
keeps the result only when the file then has fewer partitions and computes what the original did (every
output within one quantization step on the calibration images). The converter's own calibration has no
option for a minimum range; the file's tensors are edited with TensorFlow's flatbuffer_utils.
"""

import numpy as np

from edgecnn.bench.delegation import ADD_RANGE

BOUND = ADD_RANGE[0]            # XNNPACK's int8 ADD/SUB: each input's scale at least this share of the output's
FLOOR = BOUND * 1.001           # the scale given: just inside, so float32 rounding cannot put it back outside
OPS = ("ADD", "SUB")


def _op_names(model):
    from tensorflow.lite.tools import flatbuffer_utils

    return [flatbuffer_utils.opcode_to_name(model, op.opcodeIndex) for op in model.subgraphs[0].operators]


def narrow_inputs(model):
    """[(tensor index, its scale, the scale XNNPACK needs)] for the int8 ADD/SUB inputs below 2^-10 of the output."""
    from tensorflow.lite.python import schema_py_generated as schema

    graph, found = model.subgraphs[0], {}
    integer = (schema.TensorType.INT8, schema.TensorType.UINT8)
    for op, name in zip(graph.operators, _op_names(model)):
        if name not in OPS:
            continue
        out = graph.tensors[op.outputs[0]]
        if out.type not in integer or out.quantization is None or out.quantization.scale is None:
            continue
        bound, need = float(out.quantization.scale[0]) * BOUND, float(out.quantization.scale[0]) * FLOOR
        for t in op.inputs:
            q = graph.tensors[t].quantization
            if t >= 0 and graph.tensors[t].type in integer and q is not None and q.scale is not None \
                    and len(q.scale) == 1 and 0 < float(q.scale[0]) < bound:
                found[t] = (t, float(q.scale[0]), max(need, found.get(t, (0, 0, 0))[2]))
    return sorted(found.values())


def tensor_name(model, index):
    name = model.subgraphs[0].tensors[index].name
    return name.decode() if isinstance(name, bytes) else str(name)


def widen(blob):
    """(the widened file's bytes, [(tensor name, old scale, new scale)]): unchanged bytes and [] when no
    ADD/SUB input is below XNNPACK's bound."""
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(blob))
    narrow = narrow_inputs(model)
    if not narrow:
        return blob, []
    for index, _, new in narrow:
        model.subgraphs[0].tensors[index].quantization.scale = np.asarray([new], np.float32)
    changed = [(tensor_name(model, i), old, new) for i, old, new in narrow]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), changed


def partitions(blob):
    """(XNNPACK's partition count for a file on this machine's LiteRT, the allocated interpreter)."""
    from ai_edge_litert.interpreter import Interpreter

    from edgecnn.bench.delegation import xnnpack

    interp = Interpreter(model_content=blob, num_threads=1)
    interp.allocate_tensors()
    return xnnpack(interp)["partitions"], interp


def outputs(interp, images):
    """The raw output (quantized steps) for each image, as int64."""
    from edgecnn.bench.measure import to_input

    detail, out = interp.get_input_details()[0], interp.get_output_details()[0]
    rows = []
    for image in images:
        interp.set_tensor(detail["index"], to_input(image[None].astype(np.float32), detail))
        interp.invoke()
        rows.append(interp.get_tensor(out["index"]).astype(np.int64))
    return np.concatenate(rows)


def keep_one_partition(blob, calibration):
    """(bytes to write, the sentence for the convert line or None).

    `calibration` holds the uint8 images the file was calibrated on; the widened file is kept only when it
    has fewer XNNPACK partitions and every output on those images is within one step of the original's."""
    widened, changed = widen(blob)
    if not changed:
        return blob, None
    before, original = partitions(blob)
    after, edited = partitions(widened)
    names = ", ".join(f"'{name.split(';')[-1]}'" for name, _, _ in changed[:2]) + (", ..." if len(changed) > 2 else "")
    said = (f"calibration left {len(changed)} tensors a near-zero range ({names}; scales "
            f"{min(o for _, o, _ in changed):.1e}-{max(o for _, o, _ in changed):.1e}), below 2^-10 of the "
            f"ADD/SUB they feed, which XNNPACK leaves to TFLite's reference kernels ({before} partitions)")
    images = calibration[:16]
    step = int(np.abs(outputs(original, images) - outputs(edited, images)).max()) if after < before else None
    if step is not None and step <= 1:
        same = "the same as" if step == 0 else "within one step of"
        return widened, (f"{said}; their scales raised to 2^-10 of the ADD/SUB's output, so XNNPACK takes the file "
                         f"in {after} partition{'s' if after != 1 else ''} (outputs on {len(images)} calibration "
                         f"images {same} the unedited file's); calibrate on images that exercise those layers to "
                         f"give them a real range")
    return blob, (f"{said}; raising their scales " + (f"left {after} partitions" if step is None else
                  f"changed an output by {step} steps") + ", so the file is kept as the converter wrote it")
