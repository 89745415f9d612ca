"""GPU-delegate compatibility of a .tflite file, by TensorFlow's own model analyzer."""

import contextlib
import io

from edgecnn.tf import tf

COMPATIBLE = "looks compatible with GPU delegate"


def gpu_compatibility(model_content):
    """(compatible, reasons): reasons are the analyzer's warnings, one per incompatible op."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        tf.lite.experimental.Analyzer.analyze(model_content=model_content, gpu_compatibility=True)
    text = buf.getvalue()
    reasons = sorted({line.split("GPU COMPATIBILITY WARNING:", 1)[1].strip()
                      for line in text.splitlines() if "GPU COMPATIBILITY WARNING:" in line})
    return COMPATIBLE in text and not reasons, reasons
