"""build/<r>/testset.npz: the recipe's test split at the model's input size, as the files take it (for
edgecnn-bench --data, on this machine or a device)."""

import io

import numpy as np

from edgecnn.artifacts import atomic_write, record
from edgecnn.data.calibration import as_files_take
from edgecnn.data.datasets import load_splits


def write(recipe):
    """Write build/<r>/testset.npz; the line to print."""
    data = load_splits(recipe["dataset"], recipe["train"]["seed"])
    x = as_files_take(recipe, data.x_test)
    buf = io.BytesIO()
    np.savez_compressed(buf, x=x, y=data.y_test, class_names=np.array(data.class_names))
    out = recipe.build_dir / "testset.npz"
    atomic_write(out, buf.getvalue())
    record(recipe, out, "data")
    return f"wrote {out}: {len(data.y_test)} images of {x.shape[1:]}"
