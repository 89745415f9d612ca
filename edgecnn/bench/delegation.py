"""How much of a graph a delegate took.

The CPU path: XNNPACK replaces the runs of ops it supports with DELEGATE nodes, one per partition, and
leaves the rest to TFLite's reference kernels. The interpreter lists its nodes, the DELEGATE ones included,
with their input and output tensors; an op belongs to a partition when it lies between that node's inputs
and outputs. A file XNNPACK splits hands its tensors back and forth between XNNPACK and the reference kernels
at every boundary, which is how an int8 file ends up slower than its fp32 one.

The GPU path: LiteRT's GPU accelerator says in its own log which ops it does not support and why ("Following
operations are not supported by GPU delegate: ..."), and how many run on the GPU and on the CPU.
"""

import re
from collections import Counter

import numpy as np

ADD_RANGE = (2.0 ** -10, 2.0 ** 8)     # XNNPACK's int8 ADD/SUB: each input's scale / the output's scale


def xnnpack(interp):
    """{"partitions", "ops", "left": {op: count}, "why": {op: reason}} for an allocated interpreter, or None
    when its runtime does not list its nodes."""
    wrapper = getattr(interp, "_interpreter", None)
    try:
        count = wrapper.NumNodes()
        names = [wrapper.NodeName(k) for k in range(count)]
        inputs = {k: [int(t) for t in wrapper.NodeInputs(k)] for k in range(count)}
        outputs = {k: [int(t) for t in wrapper.NodeOutputs(k)] for k in range(count)}
    except (AttributeError, TypeError, ValueError, RuntimeError):
        return None
    delegates = [k for k in range(count) if names[k] == "DELEGATE"]
    ops = [k for k in range(count) if names[k] != "DELEGATE"]
    producer = {t: k for k in ops for t in outputs[k]}
    taken = set()
    for d in delegates:
        boundary, stack, seen = set(inputs[d]), list(outputs[d]), set()
        while stack:
            t = stack.pop()
            if t in seen or t in boundary or t not in producer:
                continue
            seen.add(t)
            taken.add(producer[t])
            stack.extend(u for u in inputs[producer[t]] if u >= 0)
    left = [k for k in ops if k not in taken]
    details = {d["index"]: d for d in interp.get_tensor_details()}
    why = {}
    for k in left:
        reason = _why(names[k], [details.get(t) for t in inputs[k] if t >= 0], [details.get(t) for t in outputs[k]])
        if reason:
            why.setdefault(names[k], reason)
    return {"partitions": len(delegates), "ops": len(ops), "left": dict(Counter(names[k] for k in left).most_common()),
            "why": why}


def _scale(detail):
    return float(detail["quantization"][0]) if detail is not None and detail["quantization"] else 0.0


def _why(op, inputs, outputs):
    """Why XNNPACK refused an int8 op, where the tensors' scales say so; else None."""
    if op in ("ADD", "SUB") and outputs and _scale(outputs[0]) > 0:
        out = _scale(outputs[0])
        for d in inputs:
            if d is not None and np.dtype(d["dtype"]) in (np.int8, np.uint8) and _scale(d) > 0:
                ratio = _scale(d) / out
                if not ADD_RANGE[0] <= ratio < ADD_RANGE[1]:
                    return (f"an input's scale is {ratio:.1e} of the output's, outside XNNPACK's [2^-10, 2^8): "
                            f"calibration gave that tensor a (near-)zero range")
    return None


def counted(left):
    """'QUANTIZE x2, SOFTMAX' for {op: count}."""
    return ", ".join(op + (f" x{n}" if n > 1 else "") for op, n in left.items())


def left_text(left):
    """'3: QUANTIZE x2, SOFTMAX', or 'none'."""
    return f"{sum(left.values())}: {counted(left)}" if left else "none"


def integer(interp):
    """Whether the file computes in int8 (any int8 or uint8 tensor other than its inputs and outputs)."""
    ends = {d["index"] for d in interp.get_input_details() + interp.get_output_details()}
    return any(np.dtype(d["dtype"]) in (np.int8, np.uint8) for d in interp.get_tensor_details()
               if d["index"] not in ends)


def split_note(name, found, is_integer):
    """The sentence for a file XNNPACK split, or None."""
    if not found or found["partitions"] <= 1:
        return None
    why = "; ".join(f"{op}: {reason}" for op, reason in found["why"].items())
    return (f"{name}: XNNPACK took the graph in {found['partitions']} partitions; {sum(found['left'].values())} ops "
            f"({counted(found['left'])}) run on TFLite's reference kernels between them" + (f" ({why})" if why else "") +
            (", so this int8 file can run slower than its float one" if is_integer else "") + ".")


NOT_SUPPORTED = "Following operations are not supported by GPU delegate:"
OP_LINE = re.compile(r"^([A-Z][A-Z0-9_]*): (.*)$")          # "ARG_MAX: Tensor type(INT64) is not supported."


def gpu(log):
    """{op: LiteRT's reason} for the ops LiteRT's GPU log leaves to the CPU: the lines after NOT_SUPPORTED, up
    to its "N operations will run on the GPU, and the remaining M ... on the CPU" ({} when it names none)."""
    lines, left = log.splitlines(), {}
    for i, line in enumerate(lines):
        if NOT_SUPPORTED in line:
            for after in lines[i + 1:]:
                m = OP_LINE.match(after.strip())
                if not m:
                    break
                left.setdefault(m.group(1), m.group(2).strip())
    return left


CONVOLUTIONS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def padded_convolution(interp):
    """The sentence for a file whose PADV2 pads with a non-zero value straight into a convolution, which
    LiteRT 2.3's GPU accelerator computes as zero padding (its result then differs from the CPU's), or None."""
    try:
        ops = interp._get_ops_details()
    except (AttributeError, ValueError, RuntimeError):
        return None
    readers = {}
    for op in ops:
        for t in op["inputs"]:
            readers.setdefault(int(t), []).append(op["op_name"])
    for op in ops:
        if op["op_name"] != "PADV2" or len(op["inputs"]) < 3:
            continue
        try:
            value = np.asarray(interp.get_tensor(int(op["inputs"][2])))
        except ValueError:
            continue
        if value.any() and any(r in CONVOLUTIONS for r in readers.get(int(op["outputs"][0]), [])):
            return (f"it pads with {float(value.flat[0]):g} (PADV2) into a convolution, which LiteRT 2.3's GPU "
                    f"accelerator computes as zero padding: its GPU results differ from the CPU's (edgecnn writes "
                    f"its fp16 file, the GPU's, without that pad)")
    return None
