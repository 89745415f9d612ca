"""Pruning, QAT, clustering and the converter's quantizations, on the zoo's models (tfmot underneath)."""

import numpy as np
import pytest

from conftest import ROOT, SMALL
from edgecnn.convert import converter as convert
from edgecnn.bench.runtime import pick_runtime
from edgecnn.compress import prune as pruning
from edgecnn.compress.debug import layer_errors, selective, tensors_for
from edgecnn.compress.qat import quantize_aware
from edgecnn.data.calibration import load_calibration
from edgecnn.errors import UserError
from edgecnn.recipe import Recipe, validate
from edgecnn.tf import keras
from edgecnn.zoo import build_model


def interpreter(blob, tmp_path, name="m.tflite"):
    path = tmp_path / name
    path.write_bytes(blob)
    interp = pick_runtime().interpreter(path, 1)
    interp.allocate_tensors()
    return interp


def ops(interp):
    return [d["op_name"] for d in interp._get_ops_details()]


@pytest.fixture(scope="module")
def calibration():
    return load_calibration(ROOT / "calib_data" / "fashion_mnist", (32, 32, 1), 50)


def test_default_layer_selection_leaves_first_conv_depthwise_and_classifier_dense(tiny_models):
    model, _ = tiny_models
    chosen = pruning.select_layers(model)
    assert "Conv1" not in chosen and "predictions" not in chosen
    assert "block_1_expand" in chosen and "Conv_1" in chosen
    assert not any("depthwise" in name for name in chosen)
    assert set(pruning.select_layers(model, "xnnpack")) <= set(chosen) | {"Conv1"}
    assert {"Conv1", "predictions"} <= set(pruning.select_layers(model, "all"))
    assert pruning.select_layers(model, skip=["Conv_1"]) == [n for n in chosen if n != "Conv_1"]


def test_layers_pruning_cannot_wrap_are_named(tiny_models):
    model, _ = tiny_models
    with pytest.raises(UserError, match=r"cannot prune rescale \(Rescaling\), bn_Conv1 \(BatchNormalization\)"):
        pruning.select_layers(model, only=["rescale", "bn_Conv1"])
    with pytest.raises(UserError, match="has no layer 'block_99_expand'"):
        pruning.select_layers(model, only=["block_99_expand"])


def recipe(**sections):
    """A recipe whose fine-tuning steps are a few batches of real Fashion-MNIST, validated on 1,200 images."""
    data = {"model": {"name": "mobilenet_v2", "options": {"alpha": 0.35, "bn_momentum": 0.9}},
            "dataset": {"name": "fashion_mnist", "train_samples": 256, "validation_split": 0.02},
            "train": {"epochs": 1, "batch_size": 64, "seed": 0, "augmentation": []}, **sections}
    return Recipe("t", ROOT / "recipes" / "t.yaml", validate(data, "t.yaml"))


def test_schedules():
    constant, polynomial = pruning.schedule("constant", 0.8, 100), pruning.schedule("polynomial", 0.8, 100)
    assert constant.get_config()["config"]["target_sparsity"] == 0.8
    assert polynomial.get_config()["config"]["final_sparsity"] == 0.8
    assert polynomial.get_config()["config"]["end_step"] == 100


def reference_kernels(blob):
    """An interpreter without XNNPACK (LiteRT's own option, which the bench uses for --no-xnnpack)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=blob, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    return interp


# one model of every zoo family (test_qat_covers_every_family keeps this list whole), with what stays float; the
# deep and wide ones as conftest.SMALL builds them: the same layer types, a fraction of the tracing
QAT_MODELS = {"mobilenet": [("mobilenet_v2", {"alpha": 0.35}, []),
                            ("mobilenet_v3_small", {}, [])],                  # hard-swish and squeeze-excite
              "efficientnet": [("efficientnet_b0", {}, ["normalization (Normalization)"])],
              "squeezenet": [("squeezenet1_1", {}, [])], "resnet": [("resnet18", {}, [])],
              "vgg": [("vgg16", SMALL["vgg16"], [])], "alexnet": [("alexnet", SMALL["alexnet"], [])],
              "googlenet": [("googlenet", {}, [])],
              "lenet": [("lenet5", {}, [])], "micro": [("micro_cnn", {}, [])],
              "zfnet": [("zfnet", SMALL["zfnet"], [])], "nin": [("nin", {}, [])], "xception": [("xception", SMALL["xception"], [])],
              "densenet": [("densenet121", SMALL["densenet121"], [])],
              "senet": [("se_resnet50", SMALL["se_resnet50"], [])],
              "resnext": [("resnext50_32x4d", SMALL["resnext50_32x4d"], [])],
              "wide_resnet": [("wide_resnet28_10", SMALL["wide_resnet28_10"], [])]}


def test_qat_covers_every_family():
    from edgecnn.zoo import entry, list_models

    assert set(QAT_MODELS) == {entry(name).family for name in list_models()}


@pytest.mark.parametrize("name, options, floats", [case for cases in QAT_MODELS.values() for case in cases])
def test_qat_annotates_every_zoo_family_or_names_what_stays_float(name, options, floats, calibration, tmp_path):
    model = build_model(name, (32, 32, 1), 10, options)
    qmodel, stays_float = quantize_aware(model)
    assert stays_float == floats
    x = calibration[:4].astype(np.float32)
    assert qmodel(x).shape == (4, 10)
    blob = convert.convert(qmodel, "int8", calibration)
    # LiteRT 2.3.0's XNNPACK aborts ("double free or corruption") allocating the QAT EfficientNet-B0 int8
    # file; its reference kernels run it. Known, reported in docs/compression.md.
    interp = reference_kernels(blob) if name == "efficientnet_b0" else interpreter(blob, tmp_path)
    interp.set_tensor(interp.get_input_details()[0]["index"], calibration[:1])
    interp.invoke()
    assert interp.get_input_details()[0]["dtype"] == np.uint8 and "CONV_2D" in ops(interp)


@pytest.fixture(scope="module")
def hand_pruned(tiny_models):
    """The tiny model with 80 % of block_1_expand's weights (the smallest magnitudes) set to zero."""
    model, _ = tiny_models
    pruned = keras.models.clone_model(model)
    pruned.set_weights(model.get_weights())
    kernel = pruned.get_layer("block_1_expand").kernel
    values = kernel.numpy()
    values[np.abs(values) < np.quantile(np.abs(values), 0.8)] = 0
    kernel.assign(values)
    return pruned


def sparsity_of(model, name):
    return next(row for row in pruning.sparsity_report(model) if row["layer"].endswith(name))["sparsity"]


def test_prune_preserving_qat_keeps_zeros(hand_pruned):
    from edgecnn.compress.qat import qat

    qmodel, _, _ = qat(recipe(qat={"epochs": 1}), hand_pruned, keep_zeros=True)
    assert sparsity_of(qmodel, "block_1_expand") >= 0.79


def test_every_post_training_quantization_loads_and_runs(tiny_models, calibration, tmp_path):
    model, _ = tiny_models
    x = calibration[:1].astype(np.float32)
    expected = model(x).numpy()
    # int8: test_convert. int16x8 of this untrained model fails LiteRT's overflow check in a depthwise
    # conv; trained models convert and run (test_pipeline's optimize run benchmarks one).
    for fmt in ("fp32", "fp16", "dynamic"):
        interp = interpreter(convert.convert(model, fmt, calibration), tmp_path, f"{fmt}.tflite")
        inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
        assert inp["dtype"] == np.float32, fmt
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        tolerance = {"fp32": 1e-5, "fp16": 2e-3, "dynamic": 0.05}[fmt]     # float32, half weights, int8 weights
        assert np.abs(interp.get_tensor(out["index"]) - expected).max() < tolerance, fmt
        weights = {d["dtype"] for d in interp.get_tensor_details() if len(d["shape"]) == 4 and d["shape"][0] > 1}
        stored = {"fp32": np.float32, "fp16": np.float16, "dynamic": np.int8}[fmt]
        assert stored in weights and (fmt != "fp32" or weights == {np.float32}), (fmt, weights)


def test_quantization_debugger_and_selective_quantization(tiny_models, calibration, tmp_path):
    model, _ = tiny_models
    rows = layer_errors(convert.configure(model, "int8", calibration), calibration)
    assert rows and all(rows[i]["rmse/scale"] >= rows[i + 1]["rmse/scale"] for i in range(len(rows) - 1))
    keep = tensors_for(rows, ["block_1_expand"])
    assert keep and all("block_1_expand" in t for t in keep)
    with pytest.raises(UserError, match="names block_99, which the int8 file does not have"):
        tensors_for(rows, ["block_99"])
    full = interpreter(convert.convert(model, "int8", calibration, "float32"), tmp_path, "full.tflite")
    mixed = interpreter(selective(convert.configure(model, "int8", calibration), calibration, keep), tmp_path)

    def float_convs(interp):
        dtypes = {d["index"]: d["dtype"] for d in interp.get_tensor_details()}
        return sum(1 for d in interp._get_ops_details() if d["op_name"] == "CONV_2D" and dtypes[d["inputs"][1]] == np.float32)

    assert float_convs(full) == 0 and float_convs(mixed) == 1


def test_mobilenet_v3_converts_to_int16x8(calibration, tmp_path):
    """The converter has no 16x8 HARD_SWISH: integer files trace hard-swish as ADD + MUL, so the int16x8
    candidate of MobileNet v3 is made (it used to sink `optimize` with the default candidates)."""
    model = build_model("mobilenet_v3_small", (32, 32, 1), 10)
    interp = interpreter(convert.convert(model, "int16x8", calibration), tmp_path)
    assert "HARD_SWISH" not in ops(interp) and "CONV_2D" in ops(interp)
    dtypes = {d["dtype"] for d in interp.get_tensor_details()}
    assert {np.int8, np.int16} <= dtypes                  # int8 weights, int16 activations


CANON = ("zfnet", "nin", "xception", "densenet", "senet", "resnext", "wide_resnet")


@pytest.mark.parametrize("name, options", [QAT_MODELS[family][0][:2] for family in CANON])
def test_pruning_reaches_its_target_on_every_canon_family(name, options, calibration):
    """edgecnn's pruning wrappers (what prune() fine-tunes; its whole run is tested above) on each family, one
    step at constant 50 % sparsity: every layer the default selection names is half zeros after stripping
    (Xception's separable convolutions: their pointwise kernels)."""
    keras.utils.set_random_seed(0)
    model = build_model(name, (32, 32, 1), 10, options)
    chosen = set(pruning.select_layers(model))
    pruned = pruning.wrapped(model, chosen, pruning.schedule("constant", 0.5, 1))
    pruned.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    pruned.fit(calibration[:8].astype(np.float32), np.arange(8) % 10, batch_size=8, epochs=1, verbose=0,
               callbacks=[pruning.sparsity.UpdatePruningStep()])
    rows = {row["layer"]: row for row in pruning.sparsity_report(pruning.sparsity.strip_pruning(pruned))}
    assert chosen and all(abs(rows[layer]["sparsity"] - 0.5) < 0.02 for layer in chosen), \
        {layer: rows[layer]["sparsity"] for layer in chosen}
    assert rows[next(layer.name for layer in model.layers if layer.name in rows)]["sparsity"] == 0   # the stem


def test_a_model_trained_with_split_groups_is_fine_tuned_native(calibration):
    """tfmot does not know SplitGroupConv2D: QAT and pruning see the grouped Conv2D it stands for."""
    model = build_model("resnext50_32x4d", (32, 32, 1), 10, {"cardinality": 4, "width": 32, "grouped_conv": "split"})
    qmodel, stays_float = quantize_aware(model)
    assert stays_float == [] and qmodel(calibration[:2].astype(np.float32)).shape == (2, 10)
    assert len([name for name in pruning.select_layers(model) if name.endswith("_2_conv")]) == 16
