"""Recipes: YAML data validated against one schema before any work starts, and the stage graph.

A recipe is data only: it is read with yaml.safe_load, names no code to run and no output path; every
artifact goes to build/<recipe name>/. Each stage sees only the sections it depends on, written to
build/<name>/stages/<stage>.json only when they change, so Make rebuilds exactly what an edit touches.

`base: FILE` (or a list of files, paths relative to the recipe's folder) starts the recipe from other
YAML files merged in order, the recipe's own keys on top: recipes that must share a training budget
share one base (recipes/_compare.yaml). Sections merge key by key; any other value is replaced.
"""

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from edgecnn.errors import UserError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
AUGMENTATIONS = ("hflip", "translate", "zoom", "contrast")


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
        "epochs": Field("int", 5, low=0, high=10_000),   # 0: keep the starting weights as they are
        "batch_size": Field("int", 128, low=1, high=65_537),
        "optimizer": Field("str", "adam", choices=("adam", "sgd", "rmsprop")),
        "learning_rate": Field("float", 0.002, low=1e-8, high=10.0),
        "schedule": Field("str", "cosine", choices=("constant", "cosine")),
        "augmentation": Field("list", [], choices=AUGMENTATIONS),
        "label_smoothing": Field("float", 0.0, low=0.0, high=1.0),
        "seed": Field("int", 0, low=0, high=2**31),
        "strategy": Field("str", "auto", choices=("auto", "mirrored", "multi-worker")),
        "scaling": Field("str", "none", choices=("none", "linear")),
        "mixed_precision": Field("bool", False),
        "xla": Field("bool", False),
        "bn_recalibration": Field("int", 0, low=0, high=100_000),
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
    },
    "optimize": {
        "budget": Field("float", 1.0, low=0.0, high=100.0),
        "candidates": Field("list", ["fp32", "fp16", "dynamic", "int8", "int16x8", "qat-int8",
                                     "pruned-50-int8", "pruned-80-int8", "pruned-80-fp32", "pruned-80-qat-int8",
                                     "clustered-16-int8"]),
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
    "qat": ("qat", "dataset", "train"),
    "cluster": ("cluster", "prune", "dataset", "train"),
    "bench": ("bench",),
    "optimize": ("optimize", "bench"),
    "export": ("export",),
}


@dataclass
class Recipe:
    name: str
    path: Path
    data: dict
    _inputs: dict = None
    _fingerprints: dict = None

    def __getitem__(self, section):
        return self.data[section]

    @property
    def build_dir(self):
        return Path("build") / self.name

    @property
    def sha256(self):
        return _digest(self.data)

    def stage_config(self, stage):
        """The sections `stage` reads, with the fingerprints of the files behind them (inputs())."""
        out = {section: self.data[section] for section in STAGES[stage]}
        fingerprints = self.inputs()
        for section in STAGES[stage]:
            if fingerprints.get(section):
                out[section] = {**out[section], "files_sha256": fingerprints[section]}
            out[section] = {key: value for key, value in out[section].items()
                            if not (key in SCHEMA[section] and SCHEMA[section][key].quiet
                                    and value == SCHEMA[section][key].default)}
        return out

    def input_paths(self):
        """{section: [files]} the recipe reads (data, calibration, starting weights), listed once; the data
        set's layout is checked on the way."""
        if self._inputs is None:
            self._inputs = input_files(self)
        return self._inputs

    def inputs(self):
        """{section: fingerprint} of input_paths(): edgecnn/data/datasets.py fingerprint()."""
        if self._fingerprints is None:
            self._fingerprints = {section: _fingerprint(paths) for section, paths in self.input_paths().items()}
        return self._fingerprints

    def forget_inputs(self):
        """List and fingerprint the files again (after Make built starting weights)."""
        self._inputs = self._fingerprints = None


def input_files(recipe):
    """{section: [files]} the recipe reads; UserError for a data set that cannot train a classifier."""
    from edgecnn.data.datasets import data_files

    out = {"dataset": data_files(recipe["dataset"])[1], "calibration": [], "model": []}
    cal = Path(recipe["calibration"]["path"])
    if cal.is_dir():
        from edgecnn.data.calibration import all_images

        out["calibration"] = all_images(str(cal))
    from edgecnn.train.options import teachers

    for value in [recipe["model"]["weights"], recipe["model"]["file"], *teachers(recipe["train"])]:
        if value and value != "imagenet" and Path(value).exists():
            path = Path(value)
            out["model"] += [str(f) for f in sorted(path.rglob("*")) if f.is_file()] if path.is_dir() else [str(path)]
    return out


def _fingerprint(paths):
    from edgecnn.data.datasets import fingerprint

    return fingerprint(paths) if paths else None


def _digest(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


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
            resolved[key] = _check(f"{source}: {section}.{key}", field, given.get(key, field.default))
        out[section] = resolved
    if raw.get("model", {}).get("file") and "epochs" not in (raw.get("train") or {}):
        out["train"]["epochs"] = 0             # your own model goes in as it is unless a train section says so
    _check_model(out, source)
    _check_compress(out, source)
    from edgecnn.train.options import check_train

    check_train(out, source)
    return out


def _check_compress(data, source):
    from edgecnn.convert.variants import parse_tflite

    candidates = data["optimize"]["candidates"]
    if not candidates:
        raise UserError(f"{source}: optimize.candidates is empty; list .tflite variants such as fp32, int8.")
    for name in candidates:
        try:
            parse_tflite(str(name))
        except UserError as e:
            raise UserError(f"{source}: optimize.candidates: {e}") from None
    for key in ("only", "skip"):
        for name in data["prune"][key]:
            if not isinstance(name, str):
                raise UserError(f"{source}: prune.{key}: got {name!r}, expected layer names.")


def _check_model(data, source):
    from edgecnn.zoo import check_options  # imports the builders, and so TensorFlow
    from edgecnn.zoo.pretrained import supports_imagenet

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
            check_options(model["name"], model["options"])
        except UserError as e:
            raise UserError(f"{source}: model: {e}") from None
        if model["weights"] == "imagenet" and not supports_imagenet(model["name"]):
            from edgecnn.zoo.pretrained import KERAS_APPS

            raise UserError(f"{source}: model.weights: Keras publishes no ImageNet weights for {model['name']}; "
                            f"models that have them: {', '.join(KERAS_APPS)}.")
    if data["train"]["epochs"] == 0 and not (model["file"] or model["weights"]):
        raise UserError(f"{source}: train.epochs: 0 keeps the starting weights, but there are none; set "
                        f"model.weights or model.file, or train for at least one epoch.")
    if data["train"]["freeze_backbone_epochs"] > data["train"]["epochs"]:
        raise UserError(f"{source}: train.freeze_backbone_epochs ({data['train']['freeze_backbone_epochs']}) is "
                        f"more than train.epochs ({data['train']['epochs']}).")


def _read(path, chain=()):
    """The raw mapping of `path` with its bases merged in (UserError on a missing file, bad YAML or a cycle)."""
    if path.resolve() in chain:
        names = " -> ".join(p.name for p in (*chain, path.resolve()))
        raise UserError(f"{chain[0]}: its bases form a cycle ({names}); a recipe cannot include itself.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text (byte {e.start} is 0x{e.object[e.start]:02x}); save the recipe "
                        f"as UTF-8.") from None
    except yaml.YAMLError as e:
        raise UserError(f"{path} is not valid YAML: {str(e).splitlines()[0]}.") from None
    if not isinstance(raw, dict) or "base" not in raw:
        return raw
    bases = raw.pop("base")
    if not (isinstance(bases, str) or (isinstance(bases, list) and all(isinstance(b, str) for b in bases))):
        raise UserError(f"{path}: base is {bases!r}; it must be a file name or a list of file names, such as "
                        f"'base: _compare.yaml'.")
    merged = {}
    for base in [bases] if isinstance(bases, str) else bases or []:
        base_path = path.parent / str(base)
        if not base_path.is_file():
            raise UserError(f"{path}: base '{base}' does not exist; bases are paths relative to {path.parent}/.")
        part = _read(base_path, (*chain, path.resolve()))
        if not isinstance(part, dict):
            raise UserError(f"{base_path}: a base is a YAML mapping of recipe sections.")
        merged = _merge(merged, part)
    return _merge(merged, raw)


def _merge(under, over):
    out = dict(under)
    for section, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(section), dict)
        out[section] = {**out[section], **value} if both else value
    return out


def load(path):
    path = Path(path)
    if not path.is_file():
        raise UserError(f"recipe {path} does not exist; recipes live in recipes/<name>.yaml.")
    name = path.stem
    if not NAME_RE.match(name):
        raise UserError(f"{path}: a recipe file name may hold only letters, digits, '_', '.', '-' "
                        f"(it names the build folder), got '{name}'.")
    return Recipe(name=name, path=path, data=validate(_read(path), str(path)))


def write_stage_configs(recipe):
    """Write build/<r>/stages/<stage>.json, touching only those whose content changed. Returns the changed."""
    from edgecnn.artifacts import atomic_write

    changed = []
    for stage in STAGES:
        target = recipe.build_dir / "stages" / f"{stage}.json"
        text = json.dumps(recipe.stage_config(stage), indent=2, sort_keys=True) + "\n"
        if not target.is_file() or target.read_text() != text:
            atomic_write(target, text.encode())
            changed.append(stage)
    return changed
