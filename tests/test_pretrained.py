"""Starting weights: Keras' ImageNet applications mapped onto the zoo layer by layer, earlier models of ours,
and the refusals (offline download, another architecture)."""

import numpy as np
import pytest

from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo import build_model, pretrained

A = keras.applications
PREPROCESS = {"tf": A.mobilenet.preprocess_input, "caffe": A.vgg16.preprocess_input, "efficientnet": lambda x: x}
COVERED = [("mobilenet_v1", {}), ("mobilenet_v1", {"alpha": 0.5}), ("mobilenet_v2", {}),
           ("mobilenet_v2", {"alpha": 0.35}), ("mobilenet_v3_small", {}),
           ("mobilenet_v3_small", {"minimalistic": True}), ("mobilenet_v3_large", {}),
           ("mobilenet_v3_large", {"minimalistic": True}), ("efficientnet_b0", {}), ("efficientnet_b3", {}),
           ("vgg16", {}), ("resnet50", {})]
# EfficientNet-B1 and B2 are B0's builder at coefficients between B0's and B3's (the same layer names, more
# repeats of the same blocks); test_zoo checks their parameter counts against Keras' own builds
BETWEEN = {"efficientnet_b1", "efficientnet_b2"}


def test_every_model_with_imagenet_weights_is_covered_here():
    assert sorted({name for name, _ in COVERED} | BETWEEN) == sorted(pretrained.KERAS_APPS)


def _randomise(model, rng):
    """Batch-norm statistics away from 0/1, so the test sees them mapped (a fresh Keras model has trivial ones)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma * rng.uniform(0.5, 1.5, gamma.shape), beta + rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])


@pytest.mark.parametrize("name, options", COVERED, ids=[f"{n}{''.join(f'-{k}={v}' for k, v in o.items())}"
                                                       for n, o in COVERED])
def test_keras_application_weights_load_layer_by_layer_and_give_the_same_outputs(name, options, tmp_path):
    """Weights saved from tf_keras.applications.<Model>(weights=None) go through the same path as ImageNet's
    (the Keras application built from the file, copied by layer name) into our builder in Keras' layout; our
    model on raw pixels then computes what Keras' computes on preprocess_input(pixels)."""
    rng = np.random.default_rng(0)
    size, classes = 96, 10
    original = pretrained.keras_application(name, options, weights=None, include_top=True,
                                            input_shape=(size, size, 3), classes=classes)
    _randomise(original, rng)
    if pretrained.preprocessing_mode(name) == "efficientnet":   # as ImageNet's file would set them
        norm = next(layer for layer in original.layers if isinstance(layer, keras.layers.Normalization))
        norm.set_weights([np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225]) ** 2,
                          norm.get_weights()[2]])
    path = tmp_path / f"{name}.h5"
    original.save_weights(path)

    keras_model = pretrained.keras_application(name, options, weights=str(path), include_top=True,
                                               input_shape=(size, size, 3), classes=classes)
    ours = build_model(name, (size, size, 3), classes, options, weights="imagenet", load=False)
    x = rng.uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    unmapped = ours(x, training=False).numpy()                    # its own initial weights, before the copy
    loaded = pretrained.copy(pretrained.layer_weights(keras_model), ours, str(path),
                             flip_rgb=pretrained.preprocessing_mode(name) == "caffe")
    assert loaded.copied == len([l for l in ours.layers if l.weights and l.name != "normalization"]) and not loaded.new

    want = keras_model(PREPROCESS[pretrained.preprocessing_mode(name)](x.copy()), training=False).numpy()
    got = ours(x, training=False).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(unmapped - want).max() > 1e-3           # the tolerance is far below what a wrong mapping gives


def test_grey_images_meet_imagenet_weights_as_rgb():
    model = build_model("mobilenet_v2", (32, 32, 1), 5, {"alpha": 0.35}, weights="imagenet", load=False)
    assert model.get_layer("grey_to_rgb").output.shape[-1] == 3 and model.name.endswith("_imagenet")
    assert model.input.shape[-1] == 1


def test_imagenet_offline_and_not_cached_names_the_file_and_where_it_goes(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(UserError) as e:
        build_model("mobilenet_v2", (96, 96, 3), 5, {"alpha": 0.35}, weights="imagenet")
    message = str(e.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5" in message
    assert str(tmp_path / "keras" / "models") in message and "\n" not in message


def test_an_earlier_model_of_ours_starts_a_new_one_with_a_new_classifier(tmp_path):
    source = build_model("mobilenet_v2", (32, 32, 1), 5, {"alpha": 0.35})
    source.save(tmp_path / "model.keras")
    (tmp_path / "labels.txt").write_text("a\nb\nc\nd\ne\n")

    new = build_model("mobilenet_v2", (32, 32, 1), 5, {"alpha": 0.35}, weights=str(tmp_path / "model.keras"),
                      class_names=list("vwxyz"))
    np.testing.assert_array_equal(new.get_layer("Conv_1").get_weights()[0], source.get_layer("Conv_1").get_weights()[0])
    assert not np.array_equal(new.get_layer("predictions").get_weights()[0],
                              source.get_layer("predictions").get_weights()[0])   # other classes: a new classifier

    same = build_model("mobilenet_v2", (32, 32, 1), 5, {"alpha": 0.35}, weights=str(tmp_path / "model.keras"),
                       class_names=list("abcde"))
    np.testing.assert_array_equal(same.get_layer("predictions").get_weights()[0],
                                  source.get_layer("predictions").get_weights()[0])


def test_weights_of_another_architecture_are_refused_naming_the_layer(tmp_path):
    build_model("mobilenet_v2", (32, 32, 1), 5, {"alpha": 0.35}).save_weights(tmp_path / "v2.h5")
    with pytest.raises(UserError, match=r"does not fit .*: layer 'Conv1' takes 3x3x1x32 but the weights have shapes "
                                        r"3x3x1x16; .*another architecture"):
        build_model("mobilenet_v2", (32, 32, 1), 5, {"alpha": 1.0}, weights=str(tmp_path / "v2.h5"))
    with pytest.raises(UserError, match="no such layer"):
        build_model("mobilenet_v1", (32, 32, 1), 5, {"alpha": 0.25}, weights=str(tmp_path / "v2.h5"))


def test_frozen_epochs_train_the_classifier_alone_with_batch_norm_in_inference_mode(tmp_path, monkeypatch):
    from edgecnn import recipe as recipes
    from edgecnn.train.fit import phases, train

    monkeypatch.chdir(tmp_path)
    source = build_model("mobilenet_v2", (32, 32, 1), 10, {"alpha": 0.35})
    source.save(tmp_path / "source.keras")
    raw = {"model": {"name": "mobilenet_v2", "options": {"alpha": 0.35}, "weights": "source.keras"},
           "dataset": {"classes": [5, 6, 7], "samples_per_class": 40},
           "train": {"epochs": 2, "freeze_backbone_epochs": 2, "batch_size": 32}}
    recipe = recipes.Recipe("frozen", tmp_path / "frozen.yaml", recipes.validate(raw, "frozen.yaml"))
    assert phases(recipe["train"]) == [(0, 2, 0.002, False)]
    model, history = train(recipe, verbose=0)
    assert len(history) == 2 and model.output.shape[-1] == 3
    for name in ("Conv1", "bn_Conv1", "block_16_project", "Conv_1_bn"):       # convolutions and their statistics
        for a, b in zip(model.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert (tmp_path / "build" / "frozen" / "labels.txt").read_text().split("\n")[:3] == ["Sandal", "Shirt", "Sneaker"]


def test_the_schedule_after_frozen_epochs_fine_tunes_at_a_lower_rate():
    from edgecnn.train.fit import phases

    cfg = {"epochs": 10, "freeze_backbone_epochs": 3, "learning_rate": 0.01, "fine_tune_learning_rate": None}
    assert phases(cfg) == [(0, 3, 0.01, False), (3, 10, 0.001, True)]
    assert phases({**cfg, "fine_tune_learning_rate": 0.0005})[1] == (3, 10, 0.0005, True)
