"""The zoo against published sizes and costs. A model registered without a reference here fails."""

import numpy as np
import pytest

from conftest import SMALL
from edgecnn.errors import UserError
from edgecnn.tf import keras
from edgecnn.zoo import build_model, entry, list_models
from edgecnn.zoo.macs import count_macs

def conv(k, c_in, c_out):
    """A k x k convolution's weights and biases."""
    return k * k * c_in * c_out + c_out


def dense(n_in, n_out):
    return n_in * n_out + n_out


# GoogLeNet (Szegedy et al. 2015), Table 1: each inception's input channels and its #1x1, #3x3 reduce, #3x3,
# #5x5 reduce, #5x5, pool proj
INCEPTIONS = [(192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64), (480, 192, 96, 208, 16, 48, 64),
              (512, 160, 112, 224, 24, 64, 64), (512, 128, 128, 256, 24, 64, 64), (512, 112, 144, 288, 32, 64, 64),
              (528, 256, 160, 320, 32, 128, 128), (832, 256, 160, 320, 32, 128, 128), (832, 384, 192, 384, 48, 128, 128)]
GOOGLENET = conv(7, 3, 64) + conv(1, 64, 64) + conv(3, 64, 192) + sum(
    conv(1, c, a) + conv(1, c, b1) + conv(3, b1, b2) + conv(1, c, c1) + conv(5, c1, c2) + conv(1, c, d)
    for c, a, b1, b2, c1, c2, d in INCEPTIONS) + dense(1024, 1000)
# ZFNet (Zeiler & Fergus 2014), Fig. 3: 96 7x7, 256 5x5, 384, 384, 256 3x3, 6x6x256 into FC 4096, 4096, 1000
ZFNET = (conv(7, 3, 96) + conv(5, 96, 256) + conv(3, 256, 384) + conv(3, 384, 384) + conv(3, 384, 256)
         + dense(6 * 6 * 256, 4096) + dense(4096, 4096) + dense(4096, 1000))
# NiN (Lin et al. 2014), the released CIFAR-10 model: 5x5 192, 1x1 160, 96; 5x5 192, 1x1 192, 192; 3x3 192, 1x1
# 192, 10
NIN = (conv(5, 3, 192) + conv(1, 192, 160) + conv(1, 160, 96) + conv(5, 96, 192) + 2 * conv(1, 192, 192)
       + conv(3, 192, 192) + conv(1, 192, 192) + conv(1, 192, 10))
# LeNet-5 (LeCun et al. 1998, Sec. II-B): C1 156, C5 48,120 and F6 10,164 parameters as printed; C3 here connects
# every S2 map (the paper's sparse table: 1,516) and the classifier is dense (the paper's RBF units: 840 fixed)
LENET5 = conv(5, 1, 6) + conv(5, 6, 16) + conv(5, 16, 120) + dense(120, 84) + dense(84, 10)

# name: (parameters at the reference input, where the count comes from, published multiply-adds or None)
REFERENCE = {
    "mobilenet_v1": (4_253_864, "tf_keras.applications.MobileNet", 569e6),
    "mobilenet_v2": (3_538_984, "tf_keras.applications.MobileNetV2", 300e6),
    "squeezenet1_0": (1_248_424, "SqueezeNet paper, Table 1 / torchvision squeezenet1_0", None),
    "squeezenet1_1": (1_235_496, "SqueezeNet v1.1 release / torchvision squeezenet1_1", None),
    "lenet5": (LENET5, "LeNet-5's layers as printed in the paper, C3 fully connected, a dense classifier", 0.4e6),
    "alexnet": (61_100_840, "torchvision alexnet (one tower, Krizhevsky 2014)", 0.72e9),
    "vgg16": (138_357_544, "tf_keras.applications.VGG16", 15.5e9),
    "resnet50": (25_636_712, "tf_keras.applications.ResNet50", 3.9e9),
    "resnet18": (11_689_512, "torchvision resnet18, trainable parameters (Keras adds BN moving stats)", 1.8e9),
    "mobilenet_v3_small": (2_554_968, "tf_keras.applications.MobileNetV3Small", 56e6),
    "mobilenet_v3_large": (5_507_432, "tf_keras.applications.MobileNetV3Large", 219e6),
    "efficientnet_b0": (5_330_571, "tf_keras.applications.EfficientNetB0", 0.39e9),
    "efficientnet_b1": (7_856_239, "tf_keras.applications.EfficientNetB1", 0.70e9),
    "efficientnet_b2": (9_177_569, "tf_keras.applications.EfficientNetB2", 1.0e9),
    "efficientnet_b3": (12_320_535, "tf_keras.applications.EfficientNetB3", 1.8e9),
    "efficientnet_lite0": (4_652_008, "tensorflow/tpu EfficientNet-Lite0 (timm tf_efficientnet_lite0), trainable", None),
    "efficientnet_lite1": (5_416_680, "tensorflow/tpu EfficientNet-Lite1 (timm tf_efficientnet_lite1), trainable", None),
    "efficientnet_lite2": (6_092_072, "tensorflow/tpu EfficientNet-Lite2 (timm tf_efficientnet_lite2), trainable", None),
    "micro_cnn": (163_234, "micro_cnn as built here (widths 24, 48, 96; no published model to compare)", None),
    "googlenet": (GOOGLENET, "GoogLeNet Table 1's layers, no auxiliary heads (paper total: 6.8 M, rounded)", 1.55e9),
    # ZFNet, NiN and WRN-28-10: no published multiply-adds; Xception's equal Keras' (compared below)
    "zfnet": (ZFNET, "ZFNet Fig. 3's layer sizes (Zeiler & Fergus 2014; no total printed)", None),
    "nin": (NIN, "NiN's released CIFAR-10 configuration (192-160-96, 192-192-192, 192-192-10)", None),
    "xception": (22_910_480, "tf_keras.applications.Xception", None),
    "densenet121": (8_062_504, "tf_keras.applications.DenseNet121", 2.83e9),          # torchvision's figure
    "se_resnet50": (28_088_024, "pretrainedmodels se_resnet50, trainable (Hu et al. 2018 Table 2: 28.1 M)", 3.87e9),
    "resnext50_32x4d": (25_028_904, "torchvision resnext50_32x4d, trainable", 4.2e9),  # Xie et al. Table 1
    "wide_resnet28_10": (36_479_194, "szagoruyko/wide-residual-networks WRN-28-10, trainable (paper: 36.5 M)", None),
    "wide_resnet50_2": (68_883_240, "torchvision wide_resnet50_2, trainable", 11.4e9),
}
KERAS = {"mobilenet_v1": "MobileNet", "mobilenet_v2": "MobileNetV2", "vgg16": "VGG16", "resnet50": "ResNet50",
         "mobilenet_v3_small": "MobileNetV3Small", "mobilenet_v3_large": "MobileNetV3Large",
         "efficientnet_b0": "EfficientNetB0", "efficientnet_b1": "EfficientNetB1",
         "efficientnet_b2": "EfficientNetB2", "efficientnet_b3": "EfficientNetB3", "xception": "Xception",
         "densenet121": "DenseNet121"}
TRAINABLE = ("resnet18", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "se_resnet50",
             "resnext50_32x4d", "wide_resnet28_10", "wide_resnet50_2")


def reference_model(name):
    e = entry(name)
    return build_model(name, e.reference_input, e.reference_classes)


def trainable(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_every_registered_model_has_a_reference():
    assert sorted(REFERENCE) == list_models()


def test_the_index_recipes_are_checked_against_is_the_live_registry():
    """zoo/index.json (read without TensorFlow) holds every builder's family, role, reference and options;
    after a builder changes, `python -m edgecnn.zoo` writes it again."""
    from edgecnn.zoo import index
    from edgecnn.zoo.registry import as_index

    assert index.models() == as_index(), "zoo/index.json is stale: run python -m edgecnn.zoo"
    assert index.PATH.read_text() == index.text(as_index())
    assert set(index.with_imagenet()) == {"mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                                          "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
                                          "vgg16", "resnet50"}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_parameters_and_macs_at_the_reference_configuration(name):
    params, source, macs = REFERENCE[name]
    model = reference_model(name)
    count = trainable(model) if name in TRAINABLE else model.count_params()
    assert count == params, source
    if name in KERAS:     # and against the live Keras build, not only the recorded figure
        ref = getattr(keras.applications, KERAS[name])(input_shape=entry(name).reference_input, weights=None)
        assert model.count_params() == ref.count_params() and count_macs(model) == count_macs(ref)
    if macs:
        assert abs(count_macs(model) / macs - 1) < 0.05, (count_macs(model), macs)


def test_the_layer_tables_reproduce_the_papers_printed_counts():
    """The formulas above give what the papers print: LeNet-5's C1, C5 and F6, GoogLeNet's 6.8 M (Table 1)."""
    assert (conv(5, 1, 6), conv(5, 16, 120), dense(120, 84)) == (156, 48_120, 10_164)
    assert round(GOOGLENET / 1e5) == 70 and abs(GOOGLENET / 6.8e6 - 1) < 0.03
    lenet = reference_model("lenet5")
    assert [lenet.get_layer(n).count_params() for n in ("c1", "c5", "f6")] == [156, 48_120, 10_164]


@pytest.mark.parametrize("name, options, keras_name", [("resnet50", {"blocks": [3, 4, 23, 3]}, "ResNet101"),
                                                       ("densenet121", {"blocks": [6, 12, 32, 32]}, "DenseNet169")])
def test_the_blocks_option_builds_the_deeper_published_forms(name, options, keras_name):
    """ResNet-101 and DenseNet-169 are ResNet-50's and DenseNet-121's blocks with more blocks per stage."""
    ours = build_model(name, (224, 224, 3), 1000, options)
    assert ours.count_params() == getattr(keras.applications, keras_name)(weights=None).count_params()


def test_googlenet_paper_total_and_auxiliary_heads():
    from edgecnn.zoo import inference_model

    plain = reference_model("googlenet")
    assert abs(plain.count_params() / 6.8e6 - 1) < 0.05          # Table 1's per-layer figures sum to 6.8 M
    train = build_model("googlenet", (224, 224, 3), 1000, {"aux_classifiers": True})
    assert len(train.outputs) == 3 and train.count_params() > plain.count_params()
    infer = inference_model(train)
    assert len(infer.outputs) == 1 and infer.count_params() == plain.count_params()


@pytest.mark.parametrize("name, keras_name", [("mobilenet_v3_small", "MobileNetV3Small"),
                                              ("mobilenet_v3_large", "MobileNetV3Large")])
@pytest.mark.parametrize("alpha, minimalistic", [(0.75, False), (1.0, True)])
def test_mobilenet_v3_options_match_keras(name, keras_name, alpha, minimalistic):
    ours = build_model(name, (224, 224, 3), 1000, {"alpha": alpha, "minimalistic": minimalistic})
    ref = getattr(keras.applications, keras_name)(input_shape=(224, 224, 3), alpha=alpha, weights=None,
                                                  minimalistic=minimalistic)
    assert ours.count_params() == ref.count_params() and count_macs(ours) == count_macs(ref)
    kinds = {type(layer).__name__ for layer in ours.layers}
    assert ("HardSwish" in kinds) != minimalistic and ("Multiply" in kinds) != minimalistic


def test_efficientnet_lite_is_the_edge_form():
    lite = reference_model("efficientnet_lite0")
    kinds = {type(layer).__name__ for layer in lite.layers}
    assert "Multiply" not in kinds                                   # no squeeze-excite
    acts = {layer.get_config()["activation"] for layer in lite.layers if isinstance(layer, keras.layers.Activation)}
    assert acts == {"relu6"}
    lite2 = reference_model("efficientnet_lite2")                    # width 1.1, yet stem and head fixed
    for model in (lite, lite2):
        assert model.get_layer("stem_conv").filters == 32 and model.get_layer("top_conv").filters == 1280
    assert reference_model("efficientnet_b2").get_layer("top_conv").filters == 1408   # B2 scales its head


def test_squeezenet_1_1_needs_about_2_4x_less_compute():
    ratio = count_macs(reference_model("squeezenet1_0")) / count_macs(reference_model("squeezenet1_1"))
    assert 2.2 < ratio < 2.6, ratio


def test_squeezenet_bypass_variants():
    plain = build_model("squeezenet1_0", (227, 227, 3), 1000)
    simple = build_model("squeezenet1_0", (227, 227, 3), 1000, {"bypass": "simple"})
    complex_ = build_model("squeezenet1_0", (227, 227, 3), 1000, {"bypass": "complex"})
    assert simple.count_params() == plain.count_params()          # identity shortcuts are free
    assert [l.name for l in simple.layers if l.name.endswith("_bypass")] == \
        ["fire3_bypass", "fire5_bypass", "fire7_bypass", "fire9_bypass"]
    assert complex_.count_params() > plain.count_params()
    assert len([l for l in complex_.layers if l.name.endswith("_bypass")]) == 8


@pytest.mark.parametrize("alpha, depth", [(0.25, 1), (0.5, 2), (0.75, 1)])
def test_mobilenet_v1_width_and_depth_match_keras(alpha, depth):
    ours = build_model("mobilenet_v1", (128, 128, 3), 10, {"alpha": alpha, "depth_multiplier": depth})
    ref = keras.applications.MobileNet(input_shape=(128, 128, 3), alpha=alpha, depth_multiplier=depth,
                                       weights=None, classes=10)
    assert ours.count_params() == ref.count_params()
    assert count_macs(ours) == count_macs(ref)


@pytest.mark.parametrize("alpha", [0.35, 0.5, 0.75, 1.3])
def test_mobilenet_v2_width_matches_keras(alpha):
    ours = build_model("mobilenet_v2", (96, 96, 3), 10, {"alpha": alpha})
    ref = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=alpha, weights=None, classes=10)
    assert ours.count_params() == ref.count_params()


def test_mobilenet_v2_keeps_keras_layer_names():
    ref = keras.applications.MobileNetV2(input_shape=(224, 224, 3), weights=None)
    ours = reference_model("mobilenet_v2")
    assert {l.name for l in ref.layers if l.weights} == {l.name for l in ours.layers if l.weights}


# EfficientNet B1-B3 and Lite1-2: B0's and Lite0's builders at other coefficients (counted above against Keras);
# at 32x32 they would add no layer type and no path
SCALED = {"efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_lite1", "efficientnet_lite2"}


@pytest.mark.parametrize("name", sorted(set(REFERENCE) - SCALED))
def test_builds_at_32x32_with_preprocessing_first_and_features_left(name):
    model = build_model(name, (32, 32, 1), 10)
    assert isinstance(model.layers[1], keras.layers.Rescaling)
    spatial = [l.output_shape[1] for l in model.layers if len(getattr(l, "output_shape", ())) == 4]
    assert min(spatial) >= 1 and model.output_shape == (None, 10)
    out = model(np.full((2, 32, 32, 1), 255.0, np.float32)).numpy()
    assert out.shape == (2, 10) and np.allclose(out.sum(axis=1), 1.0, atol=1e-4)


def test_bad_model_inputs():
    with pytest.raises(UserError, match="did you mean mobilenet_v2"):
        build_model("mobilenet_v22", (32, 32, 1), 10)
    with pytest.raises(UserError, match="has no option 'width'"):
        build_model("mobilenet_v2", (32, 32, 1), 10, {"width": 2})
    with pytest.raises(UserError, match="alpha must be a number in"):
        build_model("mobilenet_v2", (32, 32, 1), 10, {"alpha": 0})
    with pytest.raises(UserError, match="depth_multiplier must be an integer >= 1"):
        build_model("mobilenet_v1", (32, 32, 1), 10, {"depth_multiplier": 0.5})
    with pytest.raises(UserError, match="bypass must be none, simple or complex"):
        build_model("squeezenet1_1", (32, 32, 1), 10, {"bypass": "full"})
    with pytest.raises(UserError, match="needs an input of at least 32x32"):
        build_model("resnet50", (28, 28, 1), 10)
    with pytest.raises(UserError, match=r"micro_cnn: widths must be a list of positive integers, got \[16, 0\]"):
        build_model("micro_cnn", (32, 32, 1), 10, {"widths": [16, 0]})
    with pytest.raises(UserError, match="Keras publishes no ImageNet weights for 'squeezenet1_1'"):
        build_model("squeezenet1_1", (32, 32, 1), 10, weights="imagenet")


@pytest.mark.parametrize("name", ["vgg16", "alexnet", "googlenet", "squeezenet1_1", "zfnet", "nin"])
def test_batch_norm_option_follows_every_conv_but_the_classifier(name):
    plain = build_model(name, (32, 32, 1), 10)
    bn = build_model(name, (32, 32, 1), 10, {"batch_norm": True})
    conv = keras.layers.Conv2D
    convs = [l for l in bn.layers if type(l) is conv and l.name not in ("conv10", "cccp6")]    # the classifiers
    assert convs and all(not l.use_bias for l in convs)
    assert {l.name for l in bn.layers if isinstance(l, keras.layers.BatchNormalization)} == \
        {l.name + "_bn" for l in convs}
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in plain.layers)
    assert len([l for l in plain.layers if type(l) is conv]) == len([l for l in bn.layers if type(l) is conv])


def test_the_softmax_stays_float32_under_mixed_precision():
    """Keras' mixed-precision guide: the model's output layer computes in float32 (a float16 softmax
    underflows and saturates)."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        for name in ("alexnet", "densenet121", "efficientnet_b0", "googlenet", "lenet5", "micro_cnn", "mobilenet_v1",
                     "mobilenet_v2", "mobilenet_v3_small", "nin", "resnet18", "resnext50_32x4d", "se_resnet50",
                     "squeezenet1_1", "vgg16", "wide_resnet28_10", "xception", "zfnet"):   # one per builder module
            options = {"aux_classifiers": True} if name == "googlenet" else SMALL.get(name, {})
            model = build_model(name, entry(name).reference_input if name == "lenet5" else (32, 32, 3), 10, options)
            assert all(out.dtype == "float32" for out in model.outputs), name
            assert model.get_layer(index=3).compute_dtype == "float16", name      # the rest stays float16
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_the_canon_keeps_its_defining_operators():
    """What each later architecture is known for is in the graph: ResNeXt's 32-group convolutions, SE's
    channel scaling, DenseNet's concatenations, NiN's classifier without dense layers, Xception's separable
    convolutions, WRN's depth and width options."""
    def kinds(model, kind):
        return [layer for layer in model.layers if type(layer).__name__ == kind]

    resnext = build_model("resnext50_32x4d", (32, 32, 1), 10)
    grouped = [layer for layer in kinds(resnext, "Conv2D") if layer.groups > 1]
    assert len(grouped) == 16 and {layer.groups for layer in grouped} == {32}
    assert [grouped[i].filters for i in (0, 3, 7, 13)] == [128, 256, 512, 1024]       # each stage's first
    assert len(kinds(build_model("se_resnet50", (32, 32, 1), 10), "Multiply")) == 16
    assert len(kinds(build_model("densenet121", (32, 32, 1), 10), "Concatenate")) == 58
    nin = build_model("nin", (32, 32, 3), 10)
    assert not kinds(nin, "Dense") and nin.get_layer("cccp6").filters == 10
    assert len(kinds(build_model("xception", (32, 32, 1), 10), "SeparableConv2D")) == 34
    wrn = build_model("wide_resnet28_10", (32, 32, 3), 10, {"depth": 16, "width_factor": 2})
    assert len(kinds(wrn, "Add")) == 6 and wrn.get_layer("conv4_block2_2_conv").filters == 128
    wrn50 = build_model("wide_resnet50_2", (224, 224, 3), 1000)
    assert wrn50.get_layer("conv2_block1_2_conv").filters == 128       # ResNet-50's 64, twice as wide


@pytest.mark.parametrize("name, options, message", [
    ("densenet121", {"growth_rate": 0}, r"densenet121: growth_rate must be an integer in \[1, 128\], got 0"),
    ("densenet121", {"growth_rate": 12.5}, r"growth_rate must be an integer in \[1, 128\], got 12.5"),
    ("resnext50_32x4d", {"cardinality": 65}, r"cardinality must be an integer in \[1, 64\], got 65"),
    ("resnext50_32x4d", {"cardinality": 24},
     "the grouped convolution conv2_block1_2_conv has 128 input and 128 output channels, which do not divide "
     "into 24 groups"),
    ("resnext50_32x4d", {"width": 4}, r"width must be an integer in \[8, 1024\], got 4"),
    ("wide_resnet28_10", {"width_factor": 0}, r"width_factor must be an integer in \[1, 16\], got 0"),
    ("wide_resnet28_10", {"depth": 27}, r"depth must be 6n\+4 \(10, 16, 22, 28, 34, 40, ...\), got 27"),
    ("wide_resnet28_10", {"dropout": 1.0}, r"dropout must be a number in \[0, 1\), got 1.0"),
    ("wide_resnet50_2", {"width_factor": 9}, r"width_factor must be an integer in \[1, 8\], got 9"),
    ("se_resnet50", {"reduction": 0}, r"reduction must be an integer in \[1, 256\], got 0"),
    ("se_resnet50", {"blocks": [3, 4, 6]},
     r"se_resnet50: blocks must be a list of 4 block counts, each an integer in \[1, 64\], got \[3, 4, 6\]"),
    ("densenet121", {"blocks": [6, 12, 0, 16]}, r"densenet121: blocks must be a list of 4 block counts"),
    ("resnet50", {"blocks": "3-4-6-3"}, r"resnet50: blocks must be a list of 4 block counts"),
    ("xception", {"middle_blocks": 0}, r"xception: middle_blocks must be an integer in \[1, 64\], got 0"),
])
def test_canon_options_out_of_range_are_named_with_their_range(name, options, message):
    with pytest.raises(UserError, match=message) as e:
        build_model(name, (32, 32, 1), 10, options)
    assert "\n" not in str(e.value)
