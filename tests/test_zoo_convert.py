"""Every registered model, at 32x32x1 with 10 classes (the deep and wide ones as conftest.SMALL builds them: the
same operators), converts to fp32, fp16 and int8 and runs."""

import numpy as np
import pytest

from conftest import ROOT, SMALL
from edgecnn.convert import converter as convert
from edgecnn.bench.measure import from_output, to_input
from edgecnn.bench.runtime import pick_runtime
from edgecnn.data.calibration import load_calibration
from edgecnn.convert.gpu_compat import gpu_compatibility
from edgecnn.tf import keras
from edgecnn.zoo import build_model, list_models
from edgecnn.zoo.layers import grouped_form
from edgecnn.zoo.registry import builder_options

pytestmark = pytest.mark.slow

# EfficientNet B1-B3 and Lite1-2 are B0 and Lite0's code at other width/depth coefficients (test_zoo
# checks their parameter counts); converting them again would add a minute and no new graph.
SCALED = {"efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_lite1", "efficientnet_lite2"}
@pytest.fixture(scope="module")
def calibration():
    return load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 20)


def run_all(blob, images):
    """The file's scores for each image, one at a time on one interpreter."""
    interp = pick_runtime().interpreter_class(model_content=blob, num_threads=1)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert list(inp["shape"]) == [1, 32, 32, 1]
    scores = []
    for image in images:
        interp.set_tensor(inp["index"], to_input(image[None], inp))
        interp.invoke()
        scores.append(from_output(interp.get_tensor(out["index"]), out))
    return np.concatenate(scores)


@pytest.mark.parametrize("name", [name for name in list_models() if name not in SCALED])
def test_converts_to_every_variant_and_runs(name, calibration):
    keras.utils.set_random_seed(0)
    model = build_model(name, (32, 32, 1), 10, SMALL.get(name))
    images = calibration.astype(np.float32)
    expected = model(images).numpy()
    blobs = {"fp32": convert.to_fp32(model), "fp16": convert.to_fp16(model),
             "int8": convert.to_int8(model, calibration, "uint8")}
    for variant, blob in blobs.items():
        scores = run_all(blob, images)
        assert scores.shape == (len(images), 10) and np.allclose(scores.sum(1), 1, atol=0.05), (variant, scores)
        if variant == "fp32":
            assert np.allclose(scores, expected, atol=1e-4)
        elif variant == "fp16":                   # half-precision weights, float32 arithmetic
            assert np.allclose(scores, expected, atol=2e-3), np.abs(scores - expected).max()
        else:
            # the class Keras predicts, on most images where it predicts one: an untrained model's softmax is
            # often near-uniform, and int8 output steps of 1/256 then tie its ten scores
            top2 = np.sort(expected, 1)[:, -2:]
            decided = top2[:, 1] - top2[:, 0] > 4 / 256
            if decided.sum() >= 4:
                agree = float((scores.argmax(1) == expected.argmax(1))[decided].mean())
                assert agree >= 0.75, (agree, scores.argmax(1), expected.argmax(1), decided)
            else:
                assert np.abs(scores - expected).max() < 4 / 256, np.abs(scores - expected).max()
    assert len(blobs["fp16"]) < 0.6 * len(blobs["fp32"])


def test_gpu_check_reports_the_analyzers_warnings(monkeypatch):
    """TensorFlow 2.21's analyzer flagged no op tried here (CUMSUM, TOPK_V2, ARG_MAX, FLOOR_MOD, ATAN2,
    5-D tensors, and UNIQUE, WHERE, NON_MAX_SUPPRESSION_V4, REVERSE_SEQUENCE, which the GPU delegate does
    not have): there is no real negative to test, so the negative path is checked on the analyzer's
    documented warning format, and `inspect --gpu` calls a pass weak evidence (docs/embedding.md)."""
    from edgecnn.tf import tf

    def analyze(model_content, gpu_compatibility):
        print("Op#3 CUMSUM(T#0) -> [T#1]\nGPU COMPATIBILITY WARNING: Not supported op CUMSUM\n")
    monkeypatch.setattr(tf.lite.experimental.Analyzer, "analyze", staticmethod(analyze))
    assert gpu_compatibility(b"") == (False, ["Not supported op CUMSUM"])


@pytest.mark.parametrize("name", [name for name in list_models() if "batch_norm" in builder_options(name)])
def test_batch_norm_folds_into_the_convolutions(name, tmp_path):
    """Every batch_norm option (the baselines', SqueezeNet's) costs nothing on the device: same ops, same size."""
    from edgecnn.export import contents

    def read(bn):
        path = tmp_path / f"bn{bn}.tflite"
        path.write_bytes(convert.to_fp32(build_model(name, (32, 32, 1), 10, {**SMALL.get(name, {}), "batch_norm": bn})))
        return contents.read(path)

    plain, folded = read(False), read(True)
    assert folded.operators == plain.operators and "CONV_2D" in plain.operators
    assert abs(folded.weights_bytes - plain.weights_bytes) < 1024, (plain.weights_bytes, folded.weights_bytes)


def test_grouped_convolutions_reach_tflite_native_or_split_with_the_same_outputs(calibration, tmp_path):
    """Native: one CONV_2D per grouped convolution, whose filter holds width/groups input channels. Split
    (convert.grouped_conv: split): SPLIT, one CONV_2D per group, CONCATENATION, from the same weights."""
    from edgecnn.export import contents

    keras.utils.set_random_seed(0)
    narrow = {"cardinality": 4, "width": 32, "blocks": [1, 1, 1, 1]}      # one block a stage: 4 grouped convs
    model = build_model("resnext50_32x4d", (32, 32, 1), 10, narrow)
    images = calibration[:4].astype(np.float32)
    expected = model(images).numpy()
    files = {}
    for form in ("native", "split"):
        prepared, _ = convert.prepare(model, grouped=form)
        assert np.allclose(prepared(images).numpy(), expected, atol=1e-5), form
        files[form] = tmp_path / f"{form}.tflite"
        files[form].write_bytes(convert.to_fp32(prepared))
        scores = run_all(files[form].read_bytes(), images)
        assert np.allclose(scores, expected, atol=1e-4), form
    native, split = (contents.read(files[form]).operators for form in ("native", "split"))
    assert "SPLIT" not in native and split["SPLIT"] == 4 and split["CONV_2D"] == native["CONV_2D"] + 4 * 3
    plain = build_model("resnet18", (32, 32, 1), 10)
    assert grouped_form(plain, "split") is plain                          # nothing to split
    trained_split = build_model("resnext50_32x4d", (32, 32, 1), 10, {**narrow, "grouped_conv": "split"})
    trained_split.set_weights(model.get_weights())                                 # the same weights either way
    trained_split.save(tmp_path / "split.keras")                                   # as training saves it
    trained_split = keras.models.load_model(tmp_path / "split.keras", compile=False, safe_mode=True)
    assert sum(type(layer).__name__ == "SplitGroupConv2D" for layer in trained_split.layers) == 4
    native_again = grouped_form(trained_split, "native")
    assert not any(type(layer).__name__ == "SplitGroupConv2D" for layer in native_again.layers)
    assert np.allclose(native_again(images).numpy(), expected, atol=1e-5)
