"""Channel pruning (slim-NN): the narrower model computes what the original computes with the removed channels
zeroed, for a residual family (ResNet) and a depthwise one with residuals (MobileNet v2); layers tied by an add
keep one channel set; what cannot be narrowed is refused by name. (A slim variant through make and optimize:
tests/test_pipeline.py.)"""

import numpy as np
import pytest

from conftest import SMALL
from edgecnn.errors import UserError


def _with_logits(model):
    """The model with a linear classifier (softmax saturates on untrained weights and hides differences)."""
    from edgecnn.tf import keras

    config = model.get_config()
    for layer in config["layers"]:
        if layer["config"].get("activation") == "softmax":
            layer["config"]["activation"] = "linear"
    plain = keras.Model.from_config(config)
    plain.set_weights(model.get_weights())
    return plain


def _untrained(name, options):
    from edgecnn.tf import keras
    from edgecnn.zoo import build_model

    keras.utils.set_random_seed(0)
    model = build_model(name, (32, 32, 1), 10, options)
    rng = np.random.default_rng(0)
    for layer in model.layers:      # batch norm statistics away from identity, so every channel counts
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    return _with_logits(model)


@pytest.mark.parametrize("name,options", [("resnet50", SMALL["resnet50"]), ("mobilenet_v2", {"alpha": 0.35})])
def test_the_narrower_model_equals_the_original_with_the_removed_channels_zeroed(name, options):
    from edgecnn.compress.slim import masked, narrow, plan
    from edgecnn.zoo.macs import count_macs

    model = _untrained(name, options)
    the_plan = plan(model, 40)
    slim, zeroed = narrow(model, the_plan), masked(model, the_plan)
    x = np.random.default_rng(1).uniform(0, 255, (8, 32, 32, 1)).astype(np.float32)
    ours, theirs, whole = slim(x).numpy(), zeroed(x).numpy(), model(x).numpy()
    assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max(), np.abs(ours - theirs).max()
    assert np.abs(whole - theirs).max() > 1e-2 * np.abs(whole).max()           # the removed channels mattered
    assert 0.35 <= the_plan.removed_share() <= 0.45
    assert count_macs(slim) < 0.5 * count_macs(model) and slim.count_params() < 0.5 * model.count_params()
    assert slim.layers[-1].units == 10 and slim.input_shape == model.input_shape
    for layer in slim.layers:       # the layers an add ties keep one channel set: the add builds, and its inputs agree
        if type(layer).__name__ == "Add":
            assert len({tuple(t.shape) for t in layer.input}) == 1


def test_what_cannot_be_narrowed_is_refused_by_name():
    from edgecnn.compress.slim import plan
    from edgecnn.tf import keras
    from edgecnn.variants import parse_source

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(32, 3, name="conv")(inputs)
    x = keras.layers.Lambda(lambda t: t * 2, name="double")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    with pytest.raises(UserError) as e:
        plan(model, 40)
    assert str(e.value) == ("slim: layer 'double' (Lambda) cannot be narrowed: how its channels map is not known; "
                            "remove or replace it, or use pruned-NN (magnitude pruning), which keeps every shape.")
    narrow_ = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(8, 3), keras.layers.Flatten(),
                                keras.layers.Dense(3)])
    with pytest.raises(UserError) as e:
        plan(narrow_, 40, min_channels=8)
    assert str(e.value).startswith("slim-40: no layer of the model is wider than slim.min_channels (8) can take 40 % "
                                   "from (the widest prunable has 8 channels)")
    for bad in ("slim-0", "slim-95"):
        with pytest.raises(UserError) as e:
            parse_source(bad)
        assert str(e.value) == (f"'{bad}': {bad[5:]} % of the channels is outside [1, 90]; use e.g. slim-40 for 40 % "
                                f"fewer channels.")


# one zoo model of each structure besides ResNet and MobileNet v2 (above): flatten and dense heads, concatenations,
# squeeze-excite with swish or hard-swish, grouped and separable convolutions, pre-activation residuals
STRUCTURES = ("lenet5", "vgg16", "nin", "micro_cnn", "googlenet", "densenet121", "squeezenet1_1", "se_resnet50",
              "efficientnet_b0", "mobilenet_v3_small", "resnext50_32x4d", "xception", "wide_resnet28_10")


def test_a_zoo_model_of_each_structure_narrows():
    """Each (the tests' small instances) rebuilt 30 % narrower: it runs, with fewer multiply-adds."""
    from conftest import SMALL
    from edgecnn.compress.slim import narrow, plan
    from edgecnn.zoo import build_model
    from edgecnn.zoo.macs import count_macs

    for name in STRUCTURES:
        size = 96 if name in ("alexnet", "zfnet", "googlenet", "xception", "squeezenet1_0", "squeezenet1_1") else 32
        model = build_model(name, (size, size, 1), 10, SMALL.get(name, {}))
        slim = narrow(model, plan(model, 30))
        assert slim(np.zeros((1, size, size, 1), np.float32)).shape == (1, 10), name
        assert count_macs(slim) < 0.75 * count_macs(model), name
