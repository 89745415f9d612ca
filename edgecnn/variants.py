"""Variant names: what a file under build/<recipe>/ holds, read from its name alone.

Keras models (the sources):
    model          the trained float model                          model.keras
    pruned-NN      NN % of the selected layers' weights set to zero  pruned-NN.keras
    clustered-K    K shared values per selected layer               clustered-K.keras
    qat            quantization-aware trained from model            qat.h5
    pqat-NN        quantization-aware trained, pruned-NN's zeros kept pqat-NN.h5
.tflite files: FORMAT (from model) or SOURCE-FORMAT, FORMAT one of fp32 fp16 dynamic int8 int16x8;
QAT sources convert to int8 only. Examples: int8, pruned-80-int8, pruned-80-fp32, qat-int8, pqat-80-int8.

QAT models are saved as HDF5: tfmot's quantize layers do not reload from the .keras format.
The Makefile mirrors these rules (see its "variants" section).
"""

import re
from dataclasses import dataclass

from edgecnn.errors import UserError

FORMATS = ("fp32", "fp16", "dynamic", "int8", "int16x8")
KINDS = ("model", "pruned", "clustered", "qat", "pqat")
EXAMPLES = "int8, pruned-80-int8, pruned-80-fp32, qat-int8, pqat-80-int8, clustered-16-int8"


@dataclass(frozen=True)
class Source:
    name: str          # pruned-80
    kind: str          # pruned
    level: int = None  # 80 (per cent sparsity) or 16 (clusters)

    @property
    def file(self):
        return f"{self.name}.h5" if self.kind in ("qat", "pqat") else f"{self.name}.keras"

    @property
    def parent(self):
        """The source this one is trained from (None for the trained model itself)."""
        return {"model": None, "pqat": f"pruned-{self.level}"}.get(self.kind, "model")

    @property
    def stage(self):
        return {"model": "train", "pruned": "prune", "clustered": "cluster", "qat": "qat", "pqat": "qat"}[self.kind]

    @property
    def sparsity(self):
        return self.level / 100 if self.kind in ("pruned", "pqat") else 0.0

    @property
    def sparse(self):
        """Store weights sparse in the .tflite (the converter's sparsity optimization)."""
        return self.kind in ("pruned", "pqat")


def parse_source(name):
    match = re.fullmatch(r"(model|qat)|(pruned|pqat|clustered)-(\d+)", name)
    if not match:
        raise UserError(f"'{name}' is not a model variant; expected model, qat, pruned-NN, pqat-NN "
                        f"(NN: per cent sparsity) or clustered-K (K: clusters).")
    if match.group(1):
        return Source(name, match.group(1))
    kind, level = match.group(2), int(match.group(3))
    if kind in ("pruned", "pqat") and not 0 <= level < 100:
        raise UserError(f"'{name}': sparsity {level} % is outside [0, 100); use e.g. {kind}-80 for 80 %.")
    if kind == "clustered" and not 2 <= level <= 256:
        raise UserError(f"'{name}': {level} clusters is outside [2, 256]; use e.g. clustered-16.")
    return Source(name, kind, level)


def parse_tflite(name):
    """(Source, format) for a .tflite variant name such as 'pruned-80-int8'."""
    base, _, fmt = name.rpartition("-")
    if fmt not in FORMATS:
        raise UserError(f"'{name}' is not a .tflite variant: it must end in one of {', '.join(FORMATS)} "
                        f"(e.g. {EXAMPLES}).")
    if base == "model":
        raise UserError(f"'{name}': the trained model's files are named by format alone ({fmt}).")
    source = parse_source(base or "model")
    if source.kind in ("qat", "pqat") and fmt != "int8":
        raise UserError(f"'{name}': a quantization-aware trained model converts to int8 only ({base}-int8).")
    return source, fmt
