"""The input fold measured on a trained model (docs/speed.md):
    python -m edgecnn.convert.fold_check recipes/NAME.yaml   (after make build/NAME/model.keras build/NAME/testset.npz)
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgecnn import recipe as recipes
from edgecnn.bench.measure import Loaded
from edgecnn.bench.runtime import pick_runtime
from edgecnn.convert.converter import convert, prepare
from edgecnn.data.calibration import for_recipe
from edgecnn.zoo.keras_file import load_trained


def compare(recipe_path, samples=None):
    """The recipe's trained model converted with and without the fold (made wherever exact): fp32 outputs' largest relative
    difference and int8 top-1 of each on the recipe's test set (build/<r>/testset.npz)."""
    recipe = recipes.load(recipe_path)
    folder = recipe.build_dir
    model = load_trained(folder / "model.keras")
    data = np.load(folder / "testset.npz")
    x, y = data["x"][:samples], data["y"][:samples]
    calibration, runtime, io = for_recipe(recipe), pick_runtime(), recipe["convert"]["int8_io"]
    outputs, notes = {}, {}
    with tempfile.TemporaryDirectory() as scratch:           # not under build/<r>/: nothing the manifest lacks
        for fold in (False, True):
            prepared, notes[fold] = prepare(model, recipe["convert"]["rgb_input"], fold, always=True)
            for fmt in ("fp32", "int8"):
                path = Path(scratch) / f"fold-check-{fmt}-{'folded' if fold else 'unfolded'}.tflite"
                path.write_bytes(convert(prepared, fmt, calibration if fmt == "int8" else None, io))
                loaded = Loaded(path, runtime, 2)
                outputs[fold, fmt] = np.stack([loaded.predict(image[None])[0] for image in x])
    a, b = outputs[False, "fp32"], outputs[True, "fp32"]
    return {"unfolded_because": notes[True], "images": int(len(y)),
            "fp32_max_relative_difference": float((np.abs(a - b).max(1) / np.abs(a).max(1)).max()),
            "int8_top1_unfolded": float((outputs[False, "int8"].argmax(1) == y).mean()),
            "int8_top1_folded": float((outputs[True, "int8"].argmax(1) == y).mean()),
            "int8_predictions_differing": int((outputs[False, "int8"].argmax(1) != outputs[True, "int8"].argmax(1)).sum())}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m edgecnn.convert.fold_check recipes/NAME.yaml   (after make build/NAME/model.keras build/NAME/testset.npz)")
    print(json.dumps(compare(sys.argv[1]), indent=1))
