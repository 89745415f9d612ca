"""A Keras model of your own (model.file) through the same Make targets as a zoo model, and its refusals."""

import json

import numpy as np
import pytest
import yaml

from conftest import make, run_cli
from edgecnn.tf import keras

layers = keras.layers


def _own_model(path, input_shape=(32, 32, 1), lambda_layer=False):
    """Not from the zoo: a functional model with a residual block and names of its own."""
    inputs = keras.Input(input_shape, name="photo")
    x = layers.Rescaling(1 / 255.0, name="to_unit")(inputs)
    if lambda_layer:
        x = layers.Lambda(lambda t: t * 2.0, name="double_it")(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="stem")(x)
    y = layers.Conv2D(16, 3, padding="same", activation="relu", name="res_a")(x)
    y = layers.Conv2D(16, 3, padding="same", name="res_b")(y)
    x = layers.ReLU(name="res_out")(layers.Add(name="residual")([x, y]))
    x = layers.MaxPooling2D(2, name="shrink")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="wider")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(10, activation="softmax", name="garments")(x)
    keras.Model(inputs, outputs, name="my_net").save(path)
    return path


def _write(workspace, name, model):
    recipe = {"model": model,
              "dataset": {"name": "fashion_mnist", "input_shape": [32, 32, 1], "train_samples": 4000,
                          "validation_split": 0.02},
              "train": {"epochs": 2, "batch_size": 32, "learning_rate": 0.003, "augmentation": []},
              "calibration": {"path": "calib_data/fashion_mnist", "samples": 100},
              "optimize": {"candidates": ["fp32", "dynamic", "int8"], "budget": 2.0},
              "bench": {"runs": 5, "warmup": 1, "test_samples": 1000}}
    (workspace / "recipes" / f"{name}.yaml").write_text(yaml.safe_dump(recipe))
    return f"recipes/{name}.yaml"


@pytest.mark.slow
def test_your_own_keras_model_is_fine_tuned_converted_optimized_and_exported(workspace):
    _own_model(workspace / "my_net.keras")
    _write(workspace, "own", {"file": "my_net.keras"})
    make(workspace, "build/own/best.tflite")
    out = workspace / "build" / "own"
    summary = json.loads((out / "optimize.json").read_text())
    top1 = {c["variant"]: c["top1"] for c in summary["candidates"]}
    assert set(top1) == {"fp32", "dynamic", "int8"} and top1["fp32"] > 0.4, top1     # 2 epochs: chance is 0.1
    assert len(json.loads((out / "history.json").read_text())) == 2

    app = workspace / "app"
    app.mkdir()
    run_cli("export", out / "best.tflite", "--format", "android", "--out", app, cwd=workspace, check=True)
    assert (app / "assets" / "labels.txt").read_text().splitlines()[9] == "Ankle boot"


def test_your_own_model_without_a_train_section_goes_in_as_it_is(workspace):
    _own_model(workspace / "my_net.keras")
    recipe = {"model": {"file": "my_net.keras"}, "dataset": {"input_shape": [32, 32, 1]}}
    (workspace / "recipes" / "asis.yaml").write_text(yaml.safe_dump(recipe))
    run_cli("train", "recipes/asis.yaml", cwd=workspace, check=True)
    from edgecnn.zoo.keras_file import load_trained

    mine, saved = keras.models.load_model(workspace / "my_net.keras"), load_trained(workspace / "build/asis/model.keras")
    for a, b in zip(mine.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case, message", [
    ("lambda", "has a Lambda layer"),
    ("not_keras", "is not a Keras model"),
    ("not_image", "takes input of shape (None, 10); the pipeline takes images"),
    ("other_size", "takes 48x48x1 images but dataset.input_shape is [32, 32, 1]; set dataset.input_shape: [48, 48, 1]"),
])
def test_a_model_file_the_pipeline_cannot_take_is_refused_by_check(workspace, case, message):
    path = workspace / "bad.keras"
    if case == "lambda":
        _own_model(path, lambda_layer=True)
    elif case == "not_keras":
        path.write_bytes(b"these are not the weights you are looking for")
    elif case == "not_image":
        inputs = keras.Input((10,))
        keras.Model(inputs, layers.Dense(10, activation="softmax")(inputs)).save(path)
    else:
        _own_model(path, input_shape=(48, 48, 1))
    proc = run_cli("check", _write(workspace, "bad", {"file": "bad.keras"}), cwd=workspace)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
