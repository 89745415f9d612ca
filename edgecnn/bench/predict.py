"""Classify images with any .tflite classifier: the top-K classes with their names. numpy, Pillow and a
TFLite runtime only, like the bench (python -m edgecnn.bench.predict on a device; `edgecnn predict` here).

Labels come from the file's own metadata (the labels file in the zip archive TFLite metadata appends), else
labels.txt beside the file, else the class indices are printed. Images are fitted to the input as training
fits them: a file under build/<recipe>/ uses the recipe's dataset.fit (recipe.json beside it), any other
pads an image that fits and resizes a larger one (--fit overrides).
"""

import argparse
import json
import os
import sys
import zipfile

import numpy as np

from edgecnn.bench.images import FITS, read_fitted
from edgecnn.bench.labelled import DataError, image_files
from edgecnn.bench.measure import from_output, to_input
from edgecnn.bench.model_file import ModelFileError, check_tflite
from edgecnn.bench.quiet import quiet_stderr
from edgecnn.bench.runtime import RuntimeMissing, pick_runtime


def embedded_labels(path):
    """The labels file TFLite metadata carries (labels.txt, or the archive's only .txt file), or None."""
    try:
        with zipfile.ZipFile(path) as z:
            texts = [n for n in z.namelist() if n.endswith(".txt")]
            name = "labels.txt" if "labels.txt" in texts else texts[0] if len(texts) == 1 else None
            return z.read(name).decode("utf-8").splitlines() if name else None
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError):
        return None


def labels_for(path):
    """(labels or None, where they came from)."""
    labels = embedded_labels(path)
    if labels:
        return labels, "the file's metadata"
    beside = os.path.join(os.path.dirname(os.path.abspath(path)), "labels.txt")
    if os.path.isfile(beside):
        with open(beside, encoding="utf-8") as f:
            return f.read().splitlines(), beside
    return None, None


def recipe_fit(path):
    """dataset.fit of the recipe that built `path` (recipe.json beside it), or None."""
    recipe = os.path.join(os.path.dirname(os.path.abspath(path)), "recipe.json")
    try:
        with open(recipe) as f:
            return json.load(f)["dataset"]["fit"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def expand(paths):
    """Image files: those named, and those directly in named folders or their sub-folders, sorted."""
    out = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, _ in os.walk(path):
                dirs.sort()
                out += [os.path.join(root, f) for f in image_files(root)]
        elif os.path.isfile(path):
            out.append(path)
        else:
            raise DataError(f"{path} does not exist; give image files or folders of images.")
    if not out:
        raise DataError(f"no images (.png, .jpg, ...) in {', '.join(paths)}.")
    return out


def predict(model_path, images, top=5, fit=None, runtime="auto", threads=1):
    """[(image path, [(class index, label or None, probability)])] for each image."""
    check_tflite(model_path)
    interp = pick_runtime(runtime).interpreter(model_path, threads)
    inputs, outputs = interp.get_input_details(), interp.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1 or len(inputs[0]["shape"]) != 4:
        raise DataError(f"{model_path} has {len(inputs)} inputs and {len(outputs)} outputs; predict needs an "
                        f"image classifier with one image input and one output.")
    shape = inputs[0]["shape"][1:]
    labels, _ = labels_for(model_path)
    classes = int(outputs[0]["shape"][-1])
    if labels is not None and len(labels) != classes:
        labels = None
    fit = fit or recipe_fit(model_path) or "auto"
    fitted = [read_fitted(path, shape, fit) for path in images]     # every image read before any inference
    with quiet_stderr():
        interp.allocate_tensors()                       # LiteRT's "INFO: Created ... XNNPACK delegate" line
    results = []
    for path, image in zip(images, fitted):
        x = image[None].astype(np.float32)
        interp.set_tensor(inputs[0]["index"], to_input(x, inputs[0]))
        interp.invoke()
        probs = from_output(interp.get_tensor(outputs[0]["index"]), outputs[0])[0]
        order = np.argsort(-probs, kind="stable")[:top]
        results.append((path, [(int(i), labels[i] if labels else None, float(probs[i])) for i in order]))
    return results


def render(results, labelled):
    lines = [] if labelled else ["(the file has no labels in its metadata and no labels.txt beside it: class indices)"]
    for path, top in results:
        shown = ", ".join(f"{name if name is not None else i} {p:.1%}" for i, name, p in top)
        lines.append(f"{path}: {shown}")
    return "\n".join(lines) + "\n"


def parser():
    p = argparse.ArgumentParser(prog="python -m edgecnn.bench.predict", description=__doc__.split("\n\n")[0])
    p.add_argument("model", metavar="FILE.tflite")
    p.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER")
    p.add_argument("--top", type=int, default=5, help="classes shown per image (default 5)")
    p.add_argument("--fit", choices=FITS, help="pad, resize, or auto (default: the recipe's, else auto)")
    p.add_argument("--runtime", default="auto", help="ai-edge-litert, tflite-runtime, tensorflow or auto")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def run(argv=None, out=sys.stdout):
    args = parser().parse_args(argv)
    if args.top < 1:
        raise DataError(f"--top must be at least 1, got {args.top}.")
    results = predict(args.model, expand(args.images), args.top, args.fit, args.runtime)
    labelled = labels_for(args.model)[0] is not None
    if args.json:
        out.write(json.dumps([{"image": path, "top": [{"class": i, "label": name, "probability": p}
                                                      for i, name, p in top]} for path, top in results], indent=1) + "\n")
    else:
        out.write(render(results, labelled))


def main(argv=None):
    try:
        run(argv)
    except (DataError, ModelFileError, RuntimeMissing) as e:
        print(f"edgecnn predict: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
