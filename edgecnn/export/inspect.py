"""`edgecnn inspect`: what is inside a .tflite file (export/contents.py), with TensorFlow's GPU-delegate
verdict and TensorFlow Lite Micro's measurements when asked, as text or JSON."""

import json
from dataclasses import asdict
from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.export.contents import read, render


def inspect(model_path, gpu=False, mcu=False, as_json=False):
    """(the text to print, the UserError TFLite Micro's refusal raised or None): the contents are printed
    before a refusal is raised."""
    contents = read(model_path)
    verdict = micro = refusal = None
    if gpu:
        from edgecnn.convert.gpu_compat import gpu_compatibility

        verdict = gpu_compatibility(Path(model_path).read_bytes())
    if mcu:
        from edgecnn.export.micro import measure

        try:
            micro = measure(model_path)
        except UserError as e:
            refusal = e
    if not as_json:
        return render(contents, verdict, micro), refusal
    out = {**asdict(contents), "operators": dict(contents.operators.most_common())}
    if verdict is not None:
        out["gpu"] = {"compatible": verdict[0], "reasons": verdict[1]}
    if micro is not None:
        out["tflm"] = {**asdict(micro.arena), "arena_constant": micro.arena_constant,
                       "margin": micro.margin, "version": micro.tflm_version, "resolver": micro.methods}
    return json.dumps(out, indent=2) + "\n", refusal
