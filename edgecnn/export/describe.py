"""What an app needs to feed a .tflite file and read its answer: inputs and outputs (shape, dtype,
quantization), the input normalization, and the labels, as the JSON that goes beside the model."""

from pathlib import Path

from edgecnn.errors import UserError


def _tensor(t):
    """One input or output as edgecnn inspect reads it, in the JSON's shape: a scale and zero point, or null."""
    quantized = bool(t["scale"]) and t["scale"][0] != 0
    return {"name": t["name"], "shape": t["shape"], "dtype": t["dtype"],
            "quantization": {"scale": t["scale"][0], "zero_point": t["zero_point"][0] if t["zero_point"] else 0}
            if quantized else None}


def tensors(path):
    """(inputs, outputs) of the file, read from its flatbuffer (edgecnn.export.contents): no runtime is
    loaded, and a file with ops this machine's runtime lacks still gets its bundle."""
    from edgecnn.export import contents

    c = contents.read(path)
    return [_tensor(t) for t in c.inputs], [_tensor(t) for t in c.outputs]


def recipe_labels(model_path):
    """The class names `edgecnn train` wrote beside the file (build/<r>/labels.txt), or None."""
    labels = Path(model_path).resolve().parent / "labels.txt"
    return read_labels(labels) if labels.is_file() else None


def read_labels(path):
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UserError(f"--labels {path} cannot be read ({e.strerror}); give a text file with one label a line.")
    return [line.strip() for line in lines if line.strip()]


def check_labels(labels, outputs, source):
    classes = outputs[0]["shape"][-1]
    if len(labels) != classes:
        raise UserError(f"{source} has {len(labels)} labels but the model has {classes} classes "
                        f"(its first output's last dimension); give one label a line, one per class.")


def description(model_file, inputs, outputs, labels_file, mean, std):
    return {"model": model_file, "labels": labels_file, "inputs": inputs, "outputs": outputs,
            "normalization": {"mean": mean, "std": std,
                              "meaning": "the app feeds (pixel - mean) / std in the input's dtype; "
                                         "edgecnn's models scale inside the graph and take raw 0-255 "
                                         "pixels (mean 0, std 1)"}}
