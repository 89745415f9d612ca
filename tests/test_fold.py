"""The input scaling folded into the stem convolution (edgecnn/convert/fold.py): the same outputs, numerically,
for every zoo model (the deep and wide ones as conftest.SMALL builds them: the same stem) and each input layout; the file's first compute op is the stem; what cannot be
folded is named and left as it was."""

import numpy as np
import pytest

from conftest import SMALL
from edgecnn.convert import converter as convert
from edgecnn.convert.fold import fold_input, same_pads
from edgecnn.tf import keras
from edgecnn.zoo.registry import build_model, list_models

RNG = np.random.default_rng(0)


def _randomized(model):
    """Batch-norm statistics away from their identity start, so a wrong fold cannot hide behind them."""
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma * RNG.uniform(0.5, 1.5, gamma.shape), beta + RNG.normal(0, 0.1, beta.shape),
                               RNG.normal(0, 0.1, mean.shape), RNG.uniform(0.5, 2.0, var.shape)])
    return model


def _stem_output(model, name, x):
    return keras.Model(model.inputs, model.get_layer(name).output)(x).numpy()


def _agree(model, folded, rgb):
    """Stem outputs and model outputs of the folded model against the original on raw 0-255 pixels."""
    reference = convert.rgb_input(model) if rgb else model
    x = RNG.uniform(0, 255, (2, *reference.input_shape[1:])).astype(np.float32)
    stem = next(layer.name for layer in folded.layers if type(layer).__name__ == "PaddedConv2D")
    grey = (x @ np.asarray(convert.GREY_WEIGHTS, np.float32))[..., None] if rgb else x
    a, b = _stem_output(model, stem, grey), _stem_output(folded, stem, x)
    assert np.abs(a - b).max() <= 1e-4 * np.abs(a).max()
    a, b = reference(x, training=False).numpy(), folded(x, training=False).numpy()
    assert np.abs(a - b).max() <= 1e-4 * np.abs(a).max()


# EfficientNet B1-B3 and Lite1-2 are B0's and Lite0's code, stem included, at other width and depth coefficients
SCALED = {"efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_lite1", "efficientnet_lite2"}


@pytest.mark.parametrize("name", [name for name in list_models() if name not in SCALED])
def test_every_zoo_model_folds_exactly(name):
    keras.utils.set_random_seed(0)
    model = _randomized(build_model(name, (32, 32, 1), 10, SMALL.get(name, {})))
    for rgb in (False, True):
        folded, note = fold_input(model, convert.GREY_WEIGHTS if rgb else None, always=True)
        assert note is None, note
        assert not any(type(layer).__name__ in ("Rescaling", "Normalization") for layer in folded.layers)
        _agree(model, folded, rgb)


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_b0", "resnet50"])
def test_imagenet_layouts_fold_exactly(name):
    """Keras' preprocess_input in front of the stem: [-1, 1], mean/std per channel (padding with a
    different value per channel), the caffe mean; MobileNetV2's explicit stem padding."""
    keras.utils.set_random_seed(0)
    model = _randomized(build_model(name, (40, 40, 3), 10, {}, weights="imagenet", load=False))
    folded, note = fold_input(model, always=True)
    assert note is None, note
    _agree(model, folded, False)


def test_what_cannot_be_folded_is_named_and_left_as_it_was():
    keras.utils.set_random_seed(0)
    # grey repeated to RGB, then a different mean per channel: no grey value pads all three to zero
    model = build_model("resnet50", (40, 40, 1), 10, {}, weights="imagenet", load=False)
    same, note = fold_input(model, always=True)
    assert same is model and "no raw pixel value scales to the zero" in note
    inputs = keras.Input((8, 8, 1), name="pixels")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.DepthwiseConv2D(3, name="first_depthwise")(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    same, note = fold_input(model)
    assert same is model and "DepthwiseConv2D 'first_depthwise'" in note
    folded, note = convert.prepare(model, rgb=True)      # still a correct file: the RGB input as before
    assert note and folded.input_shape[-1] == 3


def test_by_default_it_folds_where_that_saves_passes_over_the_input():
    """Padding with a pixel value is a pass of its own: a two-op scaling in front of a padded stem stays;
    EfficientNet's three ops, or a stem that needs no padding, fold."""
    keras.utils.set_random_seed(0)
    same, note = fold_input(build_model("mobilenet_v2", (32, 32, 1), 10, {"alpha": 0.35}))
    assert "kept as 2 op(s) over the input" in note and "pixel value 127.5" in note
    same, note = fold_input(build_model("mobilenet_v2", (32, 32, 1), 10, {"alpha": 0.35}), convert.GREY_WEIGHTS)
    assert "kept as 1 op(s)" in note
    for name in ("efficientnet_b0", "lenet5"):          # 3 ops; a valid stem that needs no padding
        folded, note = fold_input(build_model(name, (32, 32, 1), 10, {}))
        assert note is None and type(folded.layers[1]).__name__ == "FoldedAway"
    # the GPU's file never pads with a pixel value (LiteRT's GPU accelerator pads with zeros: test_gpu_check)
    model = build_model("efficientnet_b0", (32, 32, 1), 10, {})
    same, note = fold_input(model, gpu=True)
    assert same is model and note.startswith("kept unfolded in the GPU's file: folded, its stem would pad with the "
                                             "pixel value")
    folded, note = fold_input(build_model("lenet5", (32, 32, 1), 10, {}), gpu=True)
    assert note is None                                  # no padding: folds for the GPU too


def test_same_padding_matches_tensorflow():
    for size, kernel, stride in ((32, 3, 1), (32, 3, 2), (33, 3, 2), (224, 7, 2), (5, 1, 1)):
        x = np.zeros((1, size, size, 1), np.float32)
        out = keras.layers.Conv2D(1, kernel, stride, padding="same")(x).shape[1]
        before, after = same_pads(size, kernel, stride)
        assert (size + before + after - kernel) // stride + 1 == out


def test_the_file_starts_with_the_stem_and_keeps_its_outputs(tiny_models):
    from edgecnn.bench.measure import Loaded
    from edgecnn.bench.runtime import pick_runtime

    model = tiny_models[0]
    rgb, _ = convert.prepare(model, rgb=True, fold=False)
    folded, note = convert.prepare(model, rgb=True, always=True)
    assert note is None
    files = {}
    for tag, m in (("plain", rgb), ("folded", folded)):
        blob = convert.to_fp32(m)
        from ai_edge_litert.interpreter import Interpreter

        ops = [op["op_name"] for op in Interpreter(model_content=blob)._get_ops_details()]
        files[tag] = (blob, ops)
    plain_ops, folded_ops = files["plain"][1], files["folded"][1]
    assert plain_ops[:2] == ["CONV_2D", "CONV_2D"]         # RGB to grey (the converter fused the scaling into it), stem
    assert folded_ops[:3] == ["PADV2", "CONV_2D", "DEPTHWISE_CONV_2D"]   # pad with 127.5, the stem, the first block
    x = RNG.integers(0, 256, (20, 32, 32, 3)).astype(np.float32)
    outs = {}
    for tag, (blob, _) in files.items():
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
            f.write(blob)
            f.flush()
            loaded = Loaded(f.name, pick_runtime("litert"), 1)
            outs[tag] = np.stack([loaded.predict(image[None])[0] for image in x])
    a, b = outs["plain"], outs["folded"]
    assert np.abs(a - b).max() <= 1e-4 * np.abs(a).max()



def test_integer_files_run_hard_swish_as_ops_xnnpack_takes_in_int8():
    """MobileNetV3's hard-swish: the same math either way, and its int8 file carries no HARD_SWISH op
    (XNNPACK has no int8 kernel for it) but ADD and MUL, which run on XNNPACK's int8 path."""
    from ai_edge_litert.interpreter import Interpreter

    from edgecnn.study.int8_speed import partitions, recalibrated
    from edgecnn.zoo.layers import HardSwish, hard_swish_for_int8

    x = RNG.normal(0, 4, (2, 8, 8, 4)).astype(np.float32)
    plain = HardSwish()(x).numpy()
    with hard_swish_for_int8():
        decomposed = HardSwish()(x).numpy()
    assert np.abs(plain - decomposed).max() <= 1e-6 * np.abs(plain).max()
    keras.utils.set_random_seed(0)
    images = RNG.integers(0, 256, (16, 32, 32, 1)).astype(np.uint8)
    model = recalibrated(build_model("mobilenet_v3_small", (32, 32, 1), 10, {}), images)
    ops = {}
    for fmt in ("fp32", "int8"):
        blob = convert.convert(model, fmt, images if fmt == "int8" else None)
        ops[fmt] = [op["op_name"] for op in Interpreter(model_content=blob)._get_ops_details()]
        if fmt == "int8":
            import tempfile

            with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
                f.write(blob)
                f.flush()
                assert partitions(f.name) == 1                  # the whole int8 graph in one XNNPACK partition
    assert "HARD_SWISH" in ops["fp32"] and "HARD_SWISH" not in ops["int8"]
