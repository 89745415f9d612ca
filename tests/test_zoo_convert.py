"""Every registered model, at 32x32x1 with 10 classes, converts to fp32, fp16 and int8 and runs."""

import numpy as np
import pytest

from conftest import ROOT
from edgecnn import convert
from edgecnn.bench.measure import from_output, to_input
from edgecnn.bench.runtime import pick_runtime
from edgecnn.data.calibration import load_calibration
from edgecnn.gpu_check import gpu_compatibility
from edgecnn.tf import keras
from edgecnn.zoo import build_model, entry, list_models

pytestmark = pytest.mark.slow   # ~4.5 min for the whole registry on 2 cores; make test runs it

GPU_COMPATIBLE = {"mobilenet_v1": True, "mobilenet_v2": True, "squeezenet1_0": True, "squeezenet1_1": True}


@pytest.fixture(scope="module")
def calibration():
    return load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 20)


def run_once(blob, image):
    interp = pick_runtime().interpreter_class(model_content=blob, num_threads=2)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert list(inp["shape"]) == [1, 32, 32, 1]
    interp.set_tensor(inp["index"], to_input(image, inp))
    interp.invoke()
    return from_output(interp.get_tensor(out["index"]), out)


@pytest.mark.parametrize("name", list_models())
def test_converts_to_every_variant_and_runs(name, calibration):
    keras.utils.set_random_seed(0)
    model = build_model(name, (32, 32, 1), 10)
    image = calibration[:1].astype(np.float32)
    expected = model(image).numpy()
    blobs = {"fp32": convert.to_fp32(model), "fp16": convert.to_fp16(model),
             "int8": convert.to_int8(model, calibration, "uint8")}
    for variant, blob in blobs.items():
        scores = run_once(blob, image)
        assert scores.shape == (1, 10) and abs(float(scores.sum()) - 1) < 0.05, (variant, scores)
        if variant == "fp32":
            assert np.allclose(scores, expected, atol=1e-4)
    assert len(blobs["fp16"]) < 0.6 * len(blobs["fp32"])
    if entry(name).role == "edge":
        ok, reasons = gpu_compatibility(blobs["fp16"])
        assert ok == GPU_COMPATIBLE[name], reasons
        assert ok or reasons
