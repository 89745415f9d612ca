"""What a recipe may say: every section's typed fields with defaults and bounds (SCHEMA), the recipe sections
each stage reads (STAGES), and validate(), which fills in the defaults and refuses the first bad field in one
sentence. Beyond types and ranges it checks what needs nothing but the recipe and the zoo's index: the model
and its options, the optimize candidates' names, and the training choices against each other (train.distill
included). Nothing here imports TensorFlow.
"""

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.variants import parse_tflite
from edgecnn.zoo import index

AUGMENTATIONS = ("hflip", "translate", "zoom", "contrast")
DISTILL_DEFAULTS = {"temperature": 4.0, "weight": 0.5}
DISTILL_RANGES = {"temperature": (1.0, 100.0), "weight": (0.0, 1.0)}


@dataclass(frozen=True)
class Field:
    kind: str                 # int, float, str, bool, dict, shape, list, path
    default: object = None
    choices: tuple = ()
    low: float = None         # inclusive lower bound
    high: float = None        # exclusive upper bound (inclusive with closed=True)
    optional: bool = False    # may be null
    required: bool = False
    closed: bool = False      # high is allowed
    # left out of the stage configs at its default: an option added later does not rebuild what recipes
    # that never set it already built
    quiet: bool = False


SCHEMA = {
    "model": {
        "name": Field("str", None, optional=True),       # a zoo model (edgecnn models); or model.file
        "options": Field("dict", {}),
        "weights": Field("path", None, optional=True),   # imagenet, a .keras model or an .h5 weights file
        "file": Field("path", None, optional=True),      # a Keras model of your own (.keras, .h5, SavedModel)
    },
    "dataset": {
        "name": Field("str", "fashion_mnist", choices=("fashion_mnist", "image_folder")),
        "path": Field("path", None, optional=True),
        "input_shape": Field("shape", [32, 32, 1]),
        "fit": Field("str", "pad", choices=("pad", "resize")),
        "validation_split": Field("float", 0.1, low=0.0, high=0.5),
        "train_samples": Field("int", None, low=1, optional=True),
        "classes": Field("list", None, optional=True),   # names or indices to keep, in label order
        "samples_per_class": Field("int", None, low=1, optional=True),
    },
    "train": {
        # null (auto): chosen from the data's size at training (edgecnn/train/sizing.py says how)
        "epochs": Field("int", None, low=0, high=10_000, optional=True),   # 0: keep the starting weights as they are
        "batch_size": Field("int", None, low=1, high=65_537, optional=True),
        "optimizer": Field("str", "adam", choices=("adam", "sgd", "rmsprop")),
        "learning_rate": Field("float", 0.002, low=1e-8, high=10.0),
        "schedule": Field("str", "cosine", choices=("constant", "cosine")),
        "augmentation": Field("list", None, choices=AUGMENTATIONS, optional=True),
        "label_smoothing": Field("float", 0.0, low=0.0, high=1.0),
        "seed": Field("int", 0, low=0, high=2**31),
        "strategy": Field("str", "auto", choices=("auto", "mirrored", "multi-worker")),
        "scaling": Field("str", "none", choices=("none", "linear")),
        "mixed_precision": Field("bool", False),
        "xla": Field("bool", False),
        "bn_recalibration": Field("int", None, low=0, high=100_000, optional=True),
        "bn_momentum": Field("float", None, low=0.0, high=1.0, optional=True, quiet=True),   # every BN layer's
        "early_stopping": Field("int", None, low=0, high=10_000, optional=True, quiet=True),  # patience; 0: off
        "freeze_backbone_epochs": Field("int", 0, low=0, high=10_000),   # train the classifier alone first
        "fine_tune_learning_rate": Field("float", None, low=1e-8, high=10.0, optional=True),
        # training choices (edgecnn/train/options.py); each default changes nothing
        "crop_padding": Field("int", 0, low=0, high=65, quiet=True),        # pixels: pad, then crop at random
        "erasing": Field("float", 0.0, low=0.0, high=1.0, closed=True, quiet=True),   # random erasing's probability
        "mixup": Field("float", 0.0, low=0.0, high=10.0, closed=True, quiet=True),    # Beta(a, a) of mixup
        "cutmix": Field("float", 0.0, low=0.0, high=10.0, closed=True, quiet=True),   # Beta(a, a) of CutMix
        "warmup_epochs": Field("int", 0, low=0, high=10_000, quiet=True),   # linear warm-up from 0
        "weight_decay": Field("float", 0.0, low=0.0, high=1.0, quiet=True),  # decoupled (AdamW, SGDW)
        "ema": Field("float", 0.0, low=0.0, high=1.0, quiet=True),           # momentum of the weights' average
        "distill": Field("dict", None, optional=True, quiet=True),          # teacher, temperature, weight
    },
    "calibration": {
        "path": Field("path", "calib_data/fashion_mnist"),
        "samples": Field("int", 200, low=1, high=100_000),
    },
    "convert": {
        "int8_io": Field("str", "uint8", choices=("uint8", "int8", "float32")),
        "rgb_input": Field("bool", False),      # a 1-channel model's files take RGB (grey computed inside)
        "fold_input": Field("bool", True),      # the input scaling folded into the stem conv (edgecnn/convert/fold.py)
        "grouped_conv": Field("str", "native", choices=("native", "split"), quiet=True),  # split: per group
    },
    "prune": {
        "schedule": Field("str", "polynomial", choices=("constant", "polynomial")),
        "epochs": Field("int", 2, low=1, high=10_000),
        "learning_rate": Field("float", 0.0005, low=1e-8, high=10.0),
        "layers": Field("str", "default", choices=("default", "all", "xnnpack")),
        "only": Field("list", []),
        "skip": Field("list", []),
    },
    # channel pruning, slim-NN (compress/slim.py): filters chosen by criterion, at least min_channels kept a layer
    "slim": {
        "epochs": Field("int", 2, low=1, high=10_000),
        "learning_rate": Field("float", 0.0005, low=1e-8, high=10.0),
        "criterion": Field("str", "l1", choices=("l1", "bn", "l1+bn")),
        "min_channels": Field("int", 8, low=1, high=100_000),
        "round_to": Field("int", 8, low=1, high=1024),       # channels kept: a multiple of this (1: exact)
    },
    "qat": {
        "epochs": Field("int", 2, low=1, high=10_000),
        "learning_rate": Field("float", 0.0001, low=1e-8, high=10.0),
    },
    "cluster": {
        "epochs": Field("int", 1, low=1, high=10_000),
        "learning_rate": Field("float", 0.0001, low=1e-8, high=10.0),
    },
    "quantize": {
        "keep_float": Field("list", []),
        "keep_worst": Field("int", 0, low=0, high=10_000),
        # points of top-1 on the validation split int8 may lose against fp32; the worst tensors go float until it
        # holds (convert/budget.py)
        "max_drop": Field("float", None, low=0.0, high=100.0, closed=True, optional=True),
    },
    "optimize": {
        "budget": Field("float", 1.0, low=0.0, high=100.0),
        "candidates": Field("list", ["fp32", "fp16", "dynamic", "int8", "int16x8", "qat-int8",
                                     "pruned-50-int8", "pruned-80-int8", "pruned-80-fp32", "pruned-80-qat-int8",
                                     "clustered-16-int8", "slim-30-int8"]),
    },
    "export": {
        "max_flash": Field("int", None, low=1, optional=True),
        "max_arena": Field("int", None, low=1, optional=True),
        "arena_margin": Field("float", 0.1, low=0.0, high=10.0),
    },
    "bench": {
        "threads": Field("int", 2, low=1, high=1025),
        "runs": Field("int", 50, low=1, high=1_000_000),
        "warmup": Field("int", 5, low=0, high=1_000_000),
        "test_samples": Field("int", None, low=1, optional=True),
        # [user@]host[:port]: edgecnn-bench runs there over ssh (bench.json, and optimize's choice by its latency)
        "remote": Field("str", None, optional=True),
        "remote_python": Field("str", None, optional=True),      # the host's Python (default python3)
    },
    # what `edgecnn report` (the end of make demo) holds bench.json's int8 file to; null: no target
    "targets": {
        "int8_top1": Field("float", None, low=0.0, high=1.0, closed=True, optional=True),   # top-1 at least
        "int8_drop": Field("float", None, low=0.0, high=100.0, optional=True),   # points below fp32 at most
    },
}

# stage -> the recipe sections it depends on (Make: build/<r>/stages/<stage>.json)
STAGES = {
    "data": ("dataset", "convert"),
    "train": ("model", "dataset", "train"),
    "fp32": ("convert",),
    "fp16": ("convert",),
    "dynamic": ("convert",),
    "int8": ("convert", "calibration", "dataset", "quantize"),
    "int16x8": ("convert", "calibration", "dataset"),
    "prune": ("prune", "dataset", "train"),
    "slim": ("slim", "dataset", "train"),
    "qat": ("qat", "dataset", "train"),
    "cluster": ("cluster", "prune", "dataset", "train"),
    "bench": ("bench",),
    "optimize": ("optimize", "bench"),
    "export": ("export",),
}


def _closest(key, options):
    close = difflib.get_close_matches(key, options, n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(options)}."


def _check(where, field, value):
    """Return the value, or raise naming the field, the value and what was expected."""
    if value is None:
        if field.optional or field.default is None and not field.required:
            return None
        raise UserError(f"{where}: got null, expected a {field.kind}.")
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "path": lambda v: isinstance(v, str) and v != "",
        "dict": lambda v: isinstance(v, dict),
        "list": lambda v: isinstance(v, list),
        "shape": lambda v: isinstance(v, list) and len(v) == 3 and all(isinstance(d, int) and d > 0 for d in v),
    }[field.kind]
    if not ok(value):
        expected = {"shape": "a list [height, width, channels] of positive integers",
                    "list": "a list", "dict": "a mapping"}.get(field.kind, f"a {field.kind}")
        raise UserError(f"{where}: got {value!r}, expected {expected}.")
    if field.kind == "float":
        value = float(value)
    if field.kind == "shape" and value[2] not in (1, 3):
        raise UserError(f"{where}: got {value!r}, expected 1 or 3 channels.")
    items = value if field.kind == "list" else [value]
    for item in items:
        if field.choices and item not in field.choices:
            raise UserError(f"{where}: got {item!r}, expected one of {', '.join(map(str, field.choices))}.")
    too_high = field.high is not None and (value > field.high if field.closed else value >= field.high)
    if field.low is not None and value < field.low or too_high:
        bound = (f"at least {field.low:g}" if field.high is None else
                 f"in [{field.low:g}, {field.high:g}{']' if field.closed else ')'}")
        raise UserError(f"{where}: got {value!r}, expected a value {bound}.")
    return value


def validate(raw, source):
    """The resolved recipe (defaults filled in), or UserError naming the first bad field."""
    if not isinstance(raw, dict):
        raise UserError(f"{source}: a recipe is a YAML mapping of sections ({', '.join(SCHEMA)}).")
    out = {}
    for section in raw:
        if section not in SCHEMA:
            raise UserError(f"{source}: unknown section '{section}': {_closest(section, list(SCHEMA))}")
    for section, fields in SCHEMA.items():
        given = raw.get(section) or {}
        if not isinstance(given, dict):
            raise UserError(f"{source}: section '{section}' must be a mapping, got {given!r}.")
        for key in given:
            if key not in fields:
                raise UserError(f"{source}: unknown key '{section}.{key}': {_closest(key, list(fields))}")
        resolved = {}
        for key, field in fields.items():
            if field.required and key not in given:
                raise UserError(f"{source}: '{section}.{key}' is required.")
            # a copy of the default: a caller that edits its recipe must not edit every later recipe's default
            value = given[key] if key in given else copy.deepcopy(field.default)
            resolved[key] = _check(f"{source}: {section}.{key}", field, value)
        out[section] = resolved
    if raw.get("model", {}).get("file") and "epochs" not in (raw.get("train") or {}):
        out["train"]["epochs"] = 0             # your own model goes in as it is unless a train section says so
    _check_model(out, source)
    _check_compress(out, source)
    check_train(out, source)
    return out


def _check_compress(data, source):
    candidates = data["optimize"]["candidates"]
    if not candidates:
        raise UserError(f"{source}: optimize.candidates is empty; list .tflite variants such as fp32, int8.")
    for name in candidates:
        try:
            parse_tflite(str(name))
        except UserError as e:
            raise UserError(f"{source}: optimize.candidates: {e}") from None
    if data["quantize"]["max_drop"] is not None and not data["dataset"]["validation_split"]:
        raise UserError(f"{source}: quantize.max_drop is held on the validation split, and "
                        f"dataset.validation_split is 0; set it (for example 0.1) so that the test set stays unseen.")
    for key in ("only", "skip"):
        for name in data["prune"][key]:
            if not isinstance(name, str):
                raise UserError(f"{source}: prune.{key}: got {name!r}, expected layer names.")


def _check_model(data, source):
    model = data["model"]
    if model["file"]:
        if model["name"] or model["weights"] or model["options"]:
            raise UserError(f"{source}: model.file brings its own architecture and weights; remove model.name, "
                            f"model.options and model.weights.")
    elif not model["name"]:
        raise UserError(f"{source}: 'model.name' is required (a model of `edgecnn models`), or model.file for "
                        f"a Keras model of your own.")
    else:
        try:
            index.check_options(model["name"], model["options"])
        except UserError as e:
            raise UserError(f"{source}: model: {e}") from None
        if model["weights"] == "imagenet" and model["name"] not in index.with_imagenet():
            raise UserError(f"{source}: model.weights: Keras publishes no ImageNet weights for {model['name']}; "
                            f"models that have them: {', '.join(index.with_imagenet())}.")
    if data["train"]["epochs"] == 0 and not (model["file"] or model["weights"]):
        raise UserError(f"{source}: train.epochs: 0 keeps the starting weights, but there are none; set "
                        f"model.weights or model.file, or train for at least one epoch.")
    if data["train"]["epochs"] is not None and data["train"]["freeze_backbone_epochs"] > data["train"]["epochs"]:
        raise UserError(f"{source}: train.freeze_backbone_epochs ({data['train']['freeze_backbone_epochs']}) is "
                        f"more than train.epochs ({data['train']['epochs']}).")


def teachers(cfg):
    """The teacher paths of train.distill (a path or a list of paths), [] without distillation."""
    distill = cfg.get("distill") or {}
    teacher = distill.get("teacher")
    if isinstance(teacher, str):
        return [teacher]
    return [t for t in teacher if isinstance(t, str)] if isinstance(teacher, list) else []


def check_train(data, source):
    """UserError for training choices that cannot work together or with the data's input size."""
    cfg, shape = data["train"], data["dataset"]["input_shape"]
    if cfg["epochs"] and cfg["warmup_epochs"] >= cfg["epochs"]:
        raise UserError(f"{source}: train.warmup_epochs ({cfg['warmup_epochs']}) must be less than train.epochs "
                        f"({cfg['epochs']}); the schedule needs epochs after the warm-up.")
    most = min(shape[0], shape[1]) // 2
    if cfg["crop_padding"] > most:
        raise UserError(f"{source}: train.crop_padding: got {cfg['crop_padding']}, expected a value in [0, {most}] "
                        f"(at most half of the {shape[0]}x{shape[1]} input).")
    if cfg["mixup"] and cfg["cutmix"]:
        raise UserError(f"{source}: train.mixup and train.cutmix are both set; choose one (mixup blends whole "
                        f"images, CutMix pastes a patch) and set the other to 0.")
    if cfg["distill"] is not None:
        cfg["distill"] = _check_distill(cfg["distill"], source, Path(source).stem)


def _check_distill(distill, source, name):
    where = f"{source}: train.distill"
    if not isinstance(distill, dict) or not distill:
        raise UserError(f"{where}: got {distill!r}, expected a mapping such as "
                        f"{{teacher: build/<recipe>/model.keras, temperature: 4, weight: 0.5}}.")
    known = ["teacher", *DISTILL_DEFAULTS]
    for key in distill:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(known)}."
            raise UserError(f"{where}: unknown key '{key}': {hint}")
    teacher = distill.get("teacher")
    paths = [teacher] if isinstance(teacher, str) else teacher
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
        raise UserError(f"{where}.teacher: got {teacher!r}, expected the path of a trained Keras model (such as "
                        f"build/<recipe>/model.keras) or a list of them.")
    for path in paths:
        _check_teacher_path(path, where, name)
    out = {"teacher": teacher}
    for key, default in DISTILL_DEFAULTS.items():
        value = distill.get(key, default)
        low, high = DISTILL_RANGES[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise UserError(f"{where}.{key}: got {value!r}, expected a number in [{low:g}, {high:g}].")
        out[key] = float(value)
    return out


def _check_teacher_path(path, where, name):
    """A teacher exists, or is the model.keras of another recipe that Make builds first."""
    parts = Path(path).parts
    built_by_make = len(parts) == 3 and parts[0] == "build" and parts[2] == "model.keras"
    if built_by_make and parts[1] == name:
        raise UserError(f"{where}.teacher: {path} is this recipe's own model; a teacher is another recipe's "
                        f"trained model.")
    if Path(path).exists():
        return
    if built_by_make and (Path("recipes") / f"{parts[1]}.yaml").is_file():
        return
    raise UserError(f"{where}.teacher: {path} does not exist; give a trained Keras model (.keras or .h5), or "
                    f"build/<recipe>/model.keras of a recipe under recipes/, which make builds first.")
