"""One registry: model name -> builder function, with the family, the role and the reference input.

Tests iterate over it, recipes name its keys, `edgecnn models` prints it.
"""

import difflib
import fnmatch
import inspect
from dataclasses import dataclass

from edgecnn.errors import UserError

COMMON = ("input_shape", "classes", "weights")


@dataclass(frozen=True)
class Entry:
    name: str
    builder: object
    family: str
    role: str                  # "edge" (a mobile architecture) or "baseline" (a large reference)
    reference_input: tuple     # the published configuration's input (ImageNet: 224x224x3)
    reference_classes: int


_ENTRIES = {}


def register_model(family, role, reference_input=(224, 224, 3), reference_classes=1000):
    """Decorator: register a builder under its function name (`def mobilenet_v2(...)`)."""
    if role not in ("edge", "baseline"):
        raise ValueError(f"role must be edge or baseline, got {role!r}")

    def register(fn):
        _ENTRIES[fn.__name__] = Entry(fn.__name__, fn, family, role, tuple(reference_input), reference_classes)
        return fn
    return register


def list_models(pattern="*"):
    return sorted(name for name in _ENTRIES if fnmatch.fnmatch(name, pattern))


def entry(name):
    if name not in _ENTRIES:
        close = difflib.get_close_matches(name, _ENTRIES, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else f"known models: {', '.join(list_models())}."
        raise UserError(f"unknown model '{name}': {hint}")
    return _ENTRIES[name]


def get_builder(name):
    return entry(name).builder


def builder_options(name):
    """The keyword options a builder takes beyond the common ones (input_shape, classes, weights)."""
    params = inspect.signature(get_builder(name)).parameters
    return {p: params[p].default for p in params if p not in COMMON}


def check_options(name, options):
    known = builder_options(name)
    for key in options or {}:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"it takes: {', '.join(known) or 'no options'}."
            raise UserError(f"model '{name}' has no option '{key}': {hint}")


def inference_model(model):
    """The model an app runs: the first output only (drops training-only heads such as GoogLeNet's
    auxiliary classifiers; a single-output model is returned as it is)."""
    if len(model.outputs) == 1:
        return model
    from edgecnn.tf import keras

    return keras.Model(model.inputs, model.outputs[0], name=model.name)


def build_model(name, input_shape, classes, options=None, weights=None, load=True, class_names=None):
    """The zoo model; `weights` (imagenet, or a path: see pretrained.py) chooses the layout the starting
    weights need and, unless load=False (a copy that receives trained weights next), loads them."""
    check_options(name, options)
    from edgecnn.zoo import pretrained

    layout = pretrained.source_layout(weights)
    model = get_builder(name)(input_shape=tuple(input_shape), classes=classes, weights=layout, **(options or {}))
    if weights and load:
        print(pretrained.load(model, name, options, weights, class_names).summary(), flush=True)
    return model
