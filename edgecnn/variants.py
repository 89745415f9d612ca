"""Variant names: what a file under build/<recipe>/ holds, read from its name alone.

A Keras model (a source) is named by the steps that made it from the trained model, in order:
    model                       the trained float model                                model.keras
    slim-NN                     NN % of the channels removed, a narrower model         slim-NN.keras
    pruned-NN                   NN % of the selected layers' weights set to zero       pruned-NN.keras
    clustered-K                 K shared values per selected layer                     clustered-K.keras
    qat                         quantization-aware trained                             qat.h5
    pruned-NN-clustered-K       clustered with pruned-NN's zeros kept                  pruned-NN-clustered-K.keras
    pruned-NN-qat               quantization-aware trained, pruned-NN's zeros kept     pruned-NN-qat.h5
(tfmot's collaborative optimizations: sparsity-preserving clustering and pruning-preserving QAT; channel
pruning comes first, as it changes the architecture: slim-40-int8, slim-40-pruned-50-int8, slim-40-qat-int8.)
A .tflite file is FORMAT (from model) or SOURCE-FORMAT, FORMAT one of fp32 fp16 dynamic int8 int16x8;
QAT sources convert to int8 only. Examples: int8, pruned-80-int8, pruned-80-qat-int8, clustered-16-int8.

QAT models are saved as HDF5: tfmot's quantize layers do not reload from the .keras format.
The Makefile mirrors these rules (see its "variants" section).
"""

import re
from dataclasses import dataclass

from edgecnn.errors import UserError

FORMATS = ("fp32", "fp16", "dynamic", "int8", "int16x8")
SPARSE_FORMATS = ("fp32", "fp16")      # XNNPACK's sparse path is float-only; quantized files stay dense
EXAMPLES = "int8, pruned-80-int8, pruned-80-fp32, qat-int8, pruned-80-qat-int8, pruned-80-clustered-8-int8"
STEP = r"slim-\d+|pruned-\d+|clustered-\d+|qat"
ORDER = ("slim", "pruned", "clustered", "qat")
SLIM_LEVELS = (1, 90)        # per cent of the channels removed


@dataclass(frozen=True)
class Source:
    name: str               # pruned-80-clustered-8
    kind: str               # the last step: model, slim, pruned, clustered or qat
    parent: str = None      # the source this one is trained from: pruned-80 (None for the model itself)
    percent: int = 0        # per cent sparsity, kept by every step after pruning
    clusters: int = 0       # shared values per selected layer
    slim: int = 0           # per cent of the channels removed (a narrower model)

    @property
    def file(self):
        return f"{self.name}.h5" if self.kind == "qat" else f"{self.name}.keras"

    @property
    def stage(self):
        return {"model": "train", "slim": "slim", "pruned": "prune", "clustered": "cluster", "qat": "qat"}[self.kind]

    @property
    def sparsity(self):
        return self.percent / 100

    def stored_sparse(self, fmt):
        """Store the zeros sparse (the converter's sparsity optimization), where XNNPACK can use them."""
        return self.percent > 0 and fmt in SPARSE_FORMATS


def parse_source(name):
    if name == "model":
        return Source("model", "model")
    steps = re.findall(STEP, name) if re.fullmatch(rf"(?:{STEP})(?:-(?:{STEP}))*", name) else []
    kinds = [step.split("-")[0] for step in steps]
    if not steps or kinds != sorted(set(kinds), key=ORDER.index):
        raise UserError(f"'{name}' is not a model variant; expected model, or the steps from it in this order: "
                        f"slim-NN (NN: per cent of channels removed), pruned-NN (NN: per cent sparsity), "
                        f"clustered-K (K: clusters), qat; e.g. slim-40, pruned-80, pruned-80-qat, pruned-80-clustered-8.")
    levels = {kind: int(step.split("-")[1]) for kind, step in zip(kinds, steps) if kind != "qat"}
    if not 0 <= levels.get("pruned", 0) < 100:
        raise UserError(f"'{name}': sparsity {levels['pruned']} % is outside [0, 100); use e.g. pruned-80 for 80 %.")
    low, high = SLIM_LEVELS
    if not low <= levels.get("slim", low) <= high:
        raise UserError(f"'{name}': {levels['slim']} % of the channels is outside [{low}, {high}]; use e.g. slim-40 "
                        f"for 40 % fewer channels.")
    if not 2 <= levels.get("clustered", 2) <= 256:
        raise UserError(f"'{name}': {levels['clustered']} clusters is outside [2, 256]; use e.g. clustered-16.")
    if kinds[-2:] == ["clustered", "qat"]:
        raise UserError(f"'{name}': QAT after clustering is not supported; convert "
                        f"{'-'.join(steps[:-1])} directly (e.g. {'-'.join(steps[:-1])}-int8).")
    return Source(name, kinds[-1], "-".join(steps[:-1]) or "model", levels.get("pruned", 0), levels.get("clustered", 0),
                  levels.get("slim", 0))


def parse_tflite(name):
    """(Source, format) for a .tflite variant name such as 'pruned-80-int8'."""
    base, _, fmt = name.rpartition("-")
    if fmt not in FORMATS:
        raise UserError(f"'{name}' is not a .tflite variant: it must end in one of {', '.join(FORMATS)} "
                        f"(e.g. {EXAMPLES}).")
    if base == "model":
        raise UserError(f"'{name}': the trained model's files are named by format alone ({fmt}).")
    source = parse_source(base or "model")
    if source.kind == "qat" and fmt != "int8":
        raise UserError(f"'{name}': a quantization-aware trained model converts to int8 only ({base}-int8).")
    return source, fmt
