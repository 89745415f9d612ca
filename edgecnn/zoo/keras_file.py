"""A Keras model of your own (`model.file`): a .keras file, a legacy .h5 model or a SavedModel folder,
entering the pipeline where a trained zoo model would (build/<recipe>/model.keras).

It is loaded in Keras' safe mode, so a file that would run Python code on loading (a Lambda layer) is
refused; its input must be an image batch (N, H, W, 1 or 3) taking raw 0-255 pixels, as every file the
pipeline makes does (put a Rescaling layer first), and its output one probability per class.
"""

import warnings
import zipfile
from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.tf import keras


def load_trained(path):
    """Load a model.keras written by `train`; safe_mode refuses files that would run Python code. A file cut
    short or damaged is one sentence (Keras says only that h5py found no file signature)."""
    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except (OSError, EOFError, KeyError, zipfile.BadZipFile) as e:
        if isinstance(e, FileNotFoundError):
            raise UserError(f"{path} does not exist; run make to build it.") from None
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:120]
        raise UserError(f"{path} cannot be loaded ({first}): it is damaged or cut short; delete it and run make "
                        f"again to rebuild it.") from None


def _load(path, key="model.file"):
    path = Path(path)
    if not path.exists():
        raise UserError(f"{key} {path} does not exist; give a .keras file, an .h5 model or a SavedModel folder.")
    if path.is_dir() and not (path / "saved_model.pb").is_file():
        raise UserError(f"{key} {path} is a folder without saved_model.pb; give a .keras file, an .h5 "
                        f"model or a SavedModel folder.")
    if path.is_file() and path.suffix not in (".keras", ".h5", ".hdf5"):
        raise UserError(f"{key} {path}: expected a .keras file, an .h5 model or a SavedModel folder.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # Keras' own warnings about what it then refuses
            if path.is_dir():
                return _from_saved_model(path, key)
            return keras.models.load_model(path, compile=False, safe_mode=True)     # its errors, said below
    except ValueError as e:
        message = str(e)
        if "Lambda" in message or "safe_mode" in message:
            raise UserError(f"{key} {path} has a Lambda layer, which runs arbitrary Python code on loading "
                            f"and is refused (Keras' safe mode); replace it with a built-in or registered "
                            f"layer.") from None
        raise UserError(f"{key} {path} is not a Keras model this Keras can load: "
                        f"{message.splitlines()[0]}") from None
    except (OSError, TypeError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"{key} {path} is not a Keras model: {str(e).splitlines()[0]}.") from None


def _from_saved_model(path, key):
    """A Keras model saved with model.save(folder) (tf_keras' SavedModel format); a bare tf.Module is refused."""
    model = keras.models.load_model(path, compile=False)
    if not isinstance(model, keras.Model) or not model.inputs:
        raise UserError(f"{key} {path} is a SavedModel without a Keras model in it; save it from Keras.")
    return model


def lambdas(model):
    return [layer.name for layer in model.submodules if isinstance(layer, keras.layers.Lambda)]


def load_own(path, input_shape=None, classes=None, key="model.file"):
    """The user's model, checked: no Lambda layer, one image input (N, H, W, 1|3), one output of `classes`.
    `key` is the recipe key that named the file, for the sentences."""
    model = _load(path, key)
    found = lambdas(model)
    if found:
        raise UserError(f"{key} {path} has a Lambda layer ('{found[0]}'), which runs arbitrary Python code "
                        f"and is refused; replace it with a built-in or registered layer.")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UserError(f"{key} {path} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                        f"the pipeline takes one image input and one output of class probabilities.")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or shape[-1] not in (1, 3) or None in shape[1:]:
        raise UserError(f"{key} {path} takes input of shape {shape}; the pipeline takes images "
                        f"(batch, height, width, 1 or 3 channels) of a fixed size.")
    if input_shape is not None and list(shape[1:]) != list(input_shape):
        raise UserError(f"{key} {path} takes {shape[1]}x{shape[2]}x{shape[3]} images but dataset.input_shape "
                        f"is {list(input_shape)}; set dataset.input_shape: {list(shape[1:])}.")
    out = tuple(model.outputs[0].shape)
    if classes is not None and (len(out) != 2 or out[1] != classes):
        raise UserError(f"{key} {path} outputs shape {out} but the data has {classes} classes; "
                        f"its last layer must give one probability per class.")
    return model
