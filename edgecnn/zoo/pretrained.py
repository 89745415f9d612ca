"""Starting weights: ImageNet's through Keras' own applications, or an earlier model of ours.

`model.weights: imagenet` builds the Keras application that matches the zoo model (tf_keras.applications,
whose download goes to Keras' cache, ~/.keras/models) without its classifier and copies its weights into
our builder layer by layer: the zoo builders use Keras' layer names and shapes. The model is then built in
Keras' layout (`weights="imagenet"` to the builder): the family's `preprocess_input` as its first layers
(so the file still takes raw 0-255 pixels), Keras' stem padding, grey inputs repeated to RGB first.

`model.weights: PATH` copies from a .keras model (an earlier recipe's build/<r>/model.keras) or an .h5
weights file by layer name. In both, a Dense layer (the classifier; VGG's fc1/fc2) whose shape differs is
left freshly initialised: new classes replace the classifier. Any other layer that does not fit is refused.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgecnn.errors import UserError
from edgecnn.tf import keras

# zoo name -> (tf_keras.applications constructor, its preprocess_input mode, options passed through)
KERAS_APPS = {
    "mobilenet_v1": ("MobileNet", "tf", ("alpha", "depth_multiplier")),
    "mobilenet_v2": ("MobileNetV2", "tf", ("alpha",)),
    "mobilenet_v3_small": ("MobileNetV3Small", "tf", ("alpha", "minimalistic")),
    "mobilenet_v3_large": ("MobileNetV3Large", "tf", ("alpha", "minimalistic")),
    "efficientnet_b0": ("EfficientNetB0", "efficientnet", ()),
    "efficientnet_b1": ("EfficientNetB1", "efficientnet", ()),
    "efficientnet_b2": ("EfficientNetB2", "efficientnet", ()),
    "efficientnet_b3": ("EfficientNetB3", "efficientnet", ()),
    "vgg16": ("VGG16", "caffe", ()),
    "resnet50": ("ResNet50", "caffe", ()),
}
RENAMED = {"conv_preds": "predictions"}          # Keras' MobileNet v1 classifier is a 1x1 conv of that name
SKIPPED = ("normalization",)                     # EfficientNet's constants are ours (see efficientnet.py)
IMAGENET_SUFFIX = "_imagenet"                    # marks a model built in Keras' layout


@dataclass
class Loaded:
    source: str
    copied: int = 0
    new: list = field(default_factory=list)      # Dense layers left freshly initialised

    def summary(self):
        fresh = f"; new: {', '.join(self.new)}" if self.new else ""
        return f"weights from {self.source}: {self.copied} layers copied{fresh}"


def supports_imagenet(name):
    return name in KERAS_APPS


def keras_application(name, options, weights="imagenet", include_top=False, input_shape=None, classes=1000):
    """The tf_keras application behind zoo model `name` (weights: "imagenet" or a Keras weights file)."""
    if name not in KERAS_APPS:
        raise UserError(f"model.weights: imagenet: Keras publishes no ImageNet weights for '{name}'; "
                        f"those that have them: {', '.join(KERAS_APPS)}.")
    constructor, _, passed = KERAS_APPS[name]
    kwargs = {k: v for k, v in (options or {}).items() if k in passed}
    try:
        return getattr(keras.applications, constructor)(include_top=include_top, weights=weights,
                                                        input_shape=input_shape, classes=classes, **kwargs)
    except ValueError as e:
        raise UserError(f"model.weights: imagenet: Keras has no such weights for {name} {kwargs}: "
                        f"{str(e).splitlines()[0]}") from None
    except Exception as e:                      # get_file: "URL fetch failure on <url>: ..."
        if "URL fetch failure" not in str(e):
            raise
        url = str(e).split("URL fetch failure on ")[1].split(":", 2)
        url = ":".join(url[:2])
        raise UserError(f"model.weights: imagenet needs {Path(url).name}, which Keras downloads from {url}, "
                        f"and this machine cannot reach it: download it elsewhere and put it in "
                        f"{Path(keras_cache())}/ (Keras' cache).") from None


def keras_cache():
    import os

    return os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "models")


def preprocessing_mode(name):
    return KERAS_APPS[name][1]


def layer_weights(model):
    """{layer name: [arrays]} for every layer that has weights."""
    return {layer.name: layer.get_weights() for layer in model.layers if layer.weights}


def read_h5(path):
    """{layer name: [arrays]} from a Keras HDF5 weights file (save_weights('x.h5'), Keras' downloads)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs.get("layer_names", [])]
            out = {}
            for name in names:
                g = group[name]
                weight_names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs.get("weight_names", [])]
                if weight_names:
                    out[name] = [np.asarray(g[w]) for w in weight_names]
            return out
    except OSError as e:
        raise UserError(f"model.weights: cannot read {path} as a Keras HDF5 weights file: {e}.") from None


def copy(source, target, where, flip_rgb=False, keep_classifier=True):
    """Copy {layer: arrays} into `target` by layer name; returns a Loaded. UserError on a layer that does
    not fit, naming it (weights of another architecture). keep_classifier=False leaves the output layer new."""
    renamed = {RENAMED.get(k, k): v for k, v in source.items()}
    if not keep_classifier:
        for output in target.outputs:
            renamed.pop(output.node.layer.name, None)
    loaded = Loaded(where)
    first_conv = next((l.name for l in target.layers if isinstance(l, keras.layers.Conv2D)), None)
    for layer in target.layers:
        if not layer.weights or layer.name in SKIPPED:
            continue
        dense = isinstance(layer, keras.layers.Dense)
        mine = layer.get_weights()
        theirs = renamed.get(layer.name)
        fits = theirs is not None and len(theirs) == len(mine) and all(a.size == b.size for a, b in zip(theirs, mine))
        if not fits:
            if dense:
                loaded.new.append(layer.name)
                continue
            have = "no such layer" if theirs is None else "shapes " + ", ".join("x".join(map(str, a.shape)) for a in theirs)
            want = ", ".join("x".join(map(str, w.shape)) for w in mine)
            raise UserError(f"{where} does not fit {target.name}: layer '{layer.name}' takes {want} but the "
                            f"weights have {have}; they were trained for another architecture or options.")
        arrays = [a.reshape(b.shape).astype(b.dtype) for a, b in zip(theirs, mine)]
        if flip_rgb and layer.name == first_conv:     # Keras' caffe mode feeds BGR; our first layer keeps RGB
            arrays[0] = arrays[0][:, :, ::-1, :]
        layer.set_weights(arrays)
        loaded.copied += 1
    if not loaded.copied:
        raise UserError(f"{where}: no layer name matches {target.name}; they are weights of another model.")
    return loaded


def source_layout(weights):
    """'imagenet' when the starting weights need Keras' layout, else None (our own)."""
    if weights == "imagenet":
        return "imagenet"
    if weights and str(weights).endswith(".keras") and Path(weights).is_file():
        import json
        import zipfile

        try:
            with zipfile.ZipFile(weights) as z:
                config = json.loads(z.read("config.json"))
        except (zipfile.BadZipFile, KeyError, ValueError):
            return None
        if config.get("config", {}).get("name", "").endswith(IMAGENET_SUFFIX):
            return "imagenet"
    return None


def same_labels(path, class_names):
    """Whether labels.txt beside `path` names `class_names` (then the source's classifier is kept)."""
    labels = Path(path).parent / "labels.txt"
    return bool(class_names) and labels.is_file() and labels.read_text().splitlines() == list(class_names)


def load(model, name, options, weights, class_names=None):
    """Fill `model` (built by the zoo in the layout source_layout(weights) gave) with the starting weights.
    The classifier is copied only from a .keras model whose labels.txt names the same classes."""
    if weights == "imagenet":
        app = keras_application(name, options)
        return copy(layer_weights(app), model, f"Keras' ImageNet {KERAS_APPS[name][0]}",
                    flip_rgb=preprocessing_mode(name) == "caffe")
    path = Path(weights)
    if not path.exists():
        raise UserError(f"model.weights: {path} does not exist; give 'imagenet', a .keras model or an .h5 weights "
                        f"file (an earlier recipe's build/<recipe>/model.keras).")
    if path.suffix == ".keras" or path.is_dir():
        from edgecnn.zoo.keras_file import load_trained

        try:
            source = layer_weights(load_trained(path))
        except (ValueError, OSError, TypeError) as e:
            raise UserError(f"model.weights: cannot load {path} as a Keras model: {str(e).splitlines()[0]}") from None
        return copy(source, model, str(path), keep_classifier=same_labels(path, class_names))
    if path.suffix == ".h5":
        return copy(read_h5(path), model, str(path), keep_classifier=False)
    raise UserError(f"model.weights: {path} is neither a .keras model nor an .h5 weights file.")
