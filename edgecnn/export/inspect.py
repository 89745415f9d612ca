"""`edgecnn inspect`: what is inside a .tflite file (export/contents.py), with what LiteRT's GPU accelerator
makes of it and TensorFlow Lite Micro's measurements when asked, as text or JSON."""

import json
from dataclasses import asdict
from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.export.contents import read, render


def gpu_verdict(model_path):
    """LiteRT's GPU accelerator's answer, on a hardware GPU or SwiftShader: {"by": "litert", "whole", "left",
    "adapter", "software"}. Without either, TensorFlow's analyzer, which passes nearly every op and is labelled
    weak: {"by": "analyzer", "whole", "left", "why"}."""
    from edgecnn.bench.compiled import GpuUnavailable
    from edgecnn.bench.model_file import ModelFileError
    from edgecnn.bench.runtime import RuntimeMissing, pick_runtime

    try:
        from edgecnn.bench.gpu_check import compile_verdict

        return {"by": "litert", **compile_verdict(str(model_path), pick_runtime("litert"))}
    except (GpuUnavailable, RuntimeMissing, ImportError) as e:
        why = str(e)
    except ModelFileError as e:
        raise UserError(str(e)) from None
    from edgecnn.convert.gpu_compat import gpu_compatibility

    ok, reasons = gpu_compatibility(Path(model_path).read_bytes())
    return {"by": "analyzer", "whole": ok, "left": {r: "" for r in reasons}, "why": why}


def inspect(model_path, gpu=False, mcu=False, as_json=False):
    """(the text to print, the UserError TFLite Micro's refusal raised or None): the contents are printed
    before a refusal is raised."""
    contents = read(model_path)
    verdict = micro = refusal = None
    if gpu:
        verdict = gpu_verdict(model_path)
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
        out["gpu"] = verdict
    if micro is not None:
        out["tflm"] = {**asdict(micro.arena), "arena_constant": micro.arena_constant,
                       "margin": micro.margin, "version": micro.tflm_version, "resolver": micro.methods}
    return json.dumps(out, indent=2) + "\n", refusal
