"""One registry: model name -> builder function, with the family, the role and the reference input.

Tests iterate over it, recipes name its keys, `edgecnn models` prints it. The family modules register their
builders when imported, and they import TensorFlow: the registry imports them the first time it is asked.
What a recipe may name is also in index.json, read without TensorFlow (index.py).
"""

import fnmatch
import importlib
import inspect
from dataclasses import dataclass

from edgecnn.zoo import index

COMMON = index.COMMON
# every module that registers builders
FAMILY_MODULES = ("alexnet", "densenet", "efficientnet", "googlenet", "lenet", "micro_cnn", "mobilenet_v1",
                  "mobilenet_v2", "mobilenet_v3", "nin", "resnet", "resnext", "senet", "squeezenet", "vgg",
                  "wide_resnet", "xception", "zfnet")


@dataclass(frozen=True)
class Entry:
    name: str
    builder: object
    family: str
    role: str                  # "edge" (a mobile architecture) or "baseline" (a large reference)
    reference_input: tuple     # the published configuration's input (ImageNet: 224x224x3)
    reference_classes: int


_ENTRIES = {}
_LOADED = []


def _entries():
    if not _LOADED:
        for module in FAMILY_MODULES:
            importlib.import_module(f"edgecnn.zoo.{module}")
        _LOADED.append(True)
    return _ENTRIES


def register_model(family, role, reference_input=(224, 224, 3), reference_classes=1000):
    """Decorator: register a builder under its function name (`def mobilenet_v2(...)`)."""
    if role not in ("edge", "baseline"):
        raise ValueError(f"role must be edge or baseline, got {role!r}")

    def register(fn):
        _ENTRIES[fn.__name__] = Entry(fn.__name__, fn, family, role, tuple(reference_input), reference_classes)
        return fn
    return register


def list_models(pattern="*"):
    return sorted(name for name in _entries() if fnmatch.fnmatch(name, pattern))


def not_in_zoo(names):
    """The sentence for the names that are not zoo models, or None."""
    unknown = [m for m in names if m not in list_models()]
    return f"{', '.join(unknown)} is not a zoo model; they are {', '.join(list_models())}." if unknown else None


def entry(name):
    entries = _entries()
    if name not in entries:
        raise index.unknown(name, entries)
    return entries[name]


def get_builder(name):
    return entry(name).builder


def builder_options(name):
    """The keyword options a builder takes beyond the common ones (input_shape, classes, weights)."""
    params = inspect.signature(get_builder(name)).parameters
    return {p: params[p].default for p in params if p not in COMMON}


def check_options(name, options):
    index.check_keys(name, builder_options(name), options)


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


def as_index():
    """index.json's content as the live registry gives it (imports every builder, and TensorFlow)."""
    import json

    from edgecnn.zoo.pretrained import supports_imagenet

    out = {}
    for name in list_models():
        e = entry(name)
        out[name] = {"family": e.family, "role": e.role, "reference_input": list(e.reference_input),
                     "reference_classes": e.reference_classes,
                     "options": json.loads(json.dumps(builder_options(name))), "imagenet": supports_imagenet(name)}
    return out
