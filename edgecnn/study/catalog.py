"""`edgecnn models`: the registered models as a table (family, role, parameters, multiply-adds at any input,
optionally whether LiteRT's GPU accelerator takes its fp16 file whole), and for one model its options for recipes."""

import inspect
import json

from edgecnn.errors import UserError
from edgecnn.zoo import build_model, builder_options, entry, get_builder, list_models
from edgecnn.zoo.macs import count_macs


def table(pattern="*", input_shape=None, classes=None, gpu=False):
    """The table of every model matching the wildcard `pattern` (with the options of one alone)."""
    names = list_models(pattern)
    if not names:
        raise UserError(f"no model matches '{pattern}'; known: {', '.join(list_models())}.")
    rows = [("model", "family", "role", "params", "MACs", "input", "classes") + (("GPU delegate",) if gpu else ())]
    for name in names:
        e = entry(name)
        shape, n = input_shape or e.reference_input, classes or e.reference_classes
        model = build_model(name, shape, n)
        row = (name, e.family, e.role, f"{model.count_params():,}", si(count_macs(model)), "x".join(map(str, shape)),
               str(n))
        if gpu:
            row += (gpu_cell(model),)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) if c[:1].isdigit() else c.ljust(w) for c, w in zip(r, widths)).rstrip()
             for r in rows]
    if len(names) == 1:
        lines.append(options(names[0]))
    return "\n".join(lines)


def gpu_cell(model):
    """Whether the model's fp16 file (the GPU's) compiles whole for LiteRT's GPU accelerator (edgecnn inspect
    --gpu: a hardware GPU, else SwiftShader, else TensorFlow's analyzer, marked weak)."""
    import tempfile
    from pathlib import Path

    from edgecnn.convert.converter import prepare, to_fp16
    from edgecnn.export.inspect import gpu_verdict

    with tempfile.TemporaryDirectory(prefix="edgecnn-gpu-") as tmp:
        path = Path(tmp) / "fp16.tflite"
        path.write_bytes(to_fp16(prepare(model, gpu=True)[0]))
        verdict = gpu_verdict(path)
    weak = " (TensorFlow's analyzer: weak)" if verdict["by"] == "analyzer" else ""
    return ("yes" if verdict["whole"] else "no: " + ", ".join(verdict["left"])) + weak


def options(name):
    """A model's options for recipes (model.options), with defaults, and whether ImageNet weights exist."""
    from edgecnn.zoo.pretrained import supports_imagenet

    doc = inspect.getdoc(get_builder(name)) or ""
    lines = ["", doc, "", "model.options (default):"]
    lines += [f"  {key}: {'null' if value is None else json.dumps(value)}" for key, value in builder_options(name).items()]
    lines.append("model.weights: " + ("imagenet (Keras' ImageNet weights) or the path of a .keras/.h5 file"
                                      if supports_imagenet(name) else "the path of a .keras/.h5 file (Keras publishes "
                                                                       "no ImageNet weights for this model)"))
    return "\n".join(lines)


def si(value):
    """1234567 -> '1.23 M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= scale:
            return f"{value / scale:.2f} {unit}"
    return str(value)
