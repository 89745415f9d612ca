import numpy as np
import pytest

from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo import build_model, list_models


def test_mobilenet_v2_matches_keras_applications_at_imagenet_size():
    ours = build_model("mobilenet_v2", (224, 224, 3), 1000)
    assert ours.count_params() == 3_538_984   # tf_keras.applications.MobileNetV2(weights=None)
    ref = keras.applications.MobileNetV2(input_shape=(224, 224, 3), weights=None)
    assert ours.count_params() == ref.count_params()
    ref_names = {layer.name for layer in ref.layers if layer.weights}
    assert ref_names == {layer.name for layer in ours.layers if layer.weights}


@pytest.mark.parametrize("alpha", [0.35, 0.5, 0.75, 1.3])
def test_width_multiplier_matches_keras(alpha):
    ours = build_model("mobilenet_v2", (96, 96, 3), 10, {"alpha": alpha})
    ref = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=alpha, weights=None, classes=10)
    assert ours.count_params() == ref.count_params()


def test_preprocessing_is_the_first_layer_and_small_inputs_keep_features():
    model = build_model("mobilenet_v2", (32, 32, 1), 10, {"alpha": 0.35})
    assert isinstance(model.layers[1], keras.layers.Rescaling)
    assert model.get_layer("Conv_1").output.shape[1:3] == (2, 2)   # stride-1 stem below 96x96
    out = model(np.full((2, 32, 32, 1), 255.0, np.float32))
    assert out.shape == (2, 10) and np.allclose(out.numpy().sum(axis=1), 1.0, atol=1e-5)


def test_registry_lists_and_rejects():
    assert "mobilenet_v2" in list_models("mobilenet*")
    with pytest.raises(UserError, match="did you mean mobilenet_v2"):
        build_model("mobilenet_v22", (32, 32, 1), 10)
    with pytest.raises(UserError, match="has no option 'width'"):
        build_model("mobilenet_v2", (32, 32, 1), 10, {"width": 2})
    with pytest.raises(UserError, match="alpha must be a number in"):
        build_model("mobilenet_v2", (32, 32, 1), 10, {"alpha": 0})
    with pytest.raises(UserError, match="needs an input of at least 32x32"):
        build_model("mobilenet_v2", (28, 28, 1), 10)
    with pytest.raises(UserError, match="needs a download"):
        build_model("mobilenet_v2", (32, 32, 1), 10, weights="imagenet")
