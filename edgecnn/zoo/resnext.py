"""ResNeXt-50 (32x4d) (Xie et al. 2017): ResNet-50's bottleneck with its 3x3 convolution split into
`cardinality` groups, at twice the width.

The paper's Table 1 template: conv2 is 1x1, 128 -> 3x3, 128, C=32 -> 1x1, 256, and each stage doubles
the width; `width` is that first 128 and `cardinality` that C (32 groups of d=4 channels: "32x4d").
At 224x224x3 with 1000 classes: 25,028,904 trainable parameters, the count of
torchvision.models.resnext50_32x4d, and 4.2 G multiply-adds (Table 1: 4.2 x 10^9 FLOPs).

The grouped 3x3 convolutions reach TFLite as one native CONV_2D each, whose filter has width/C input
channels; `convert.grouped_conv: split` writes each as SPLIT -> C CONV_2D -> CONCATENATION for a runtime
without grouped CONV_2D (docs/zoo.md measures both). `grouped_conv: split` here builds the model that
way for training: on a CPU, Keras runs a grouped Conv2D through XLA, whose training step is tens of
times slower than the split form's (docs/zoo.md); the weights are the same either way and the files
follow `convert.grouped_conv`, native unless it says split.
"""

from edgecnn.errors import UserError
from edgecnn.zoo.bottleneck import bottleneck_resnet
from edgecnn.zoo.layers import check_int
from edgecnn.zoo.registry import register_model


@register_model(family="resnext", role="baseline")
def resnext50_32x4d(input_shape=(224, 224, 3), classes=1000, weights=None, cardinality=32, width=128,
                    grouped_conv="native", blocks=(3, 4, 6, 3)):
    """ResNeXt-50. cardinality: groups of the 3x3 convolutions, 1-64; width: the first stage's grouped
    width, 8-1024 (cardinality must divide it); grouped_conv: native or split (for CPU training); blocks: per
    stage."""
    check_int("resnext50_32x4d", "cardinality", cardinality, 1, 64)
    check_int("resnext50_32x4d", "width", width, 8, 1024)
    if grouped_conv not in ("native", "split"):
        raise UserError(f"resnext50_32x4d: grouped_conv must be native or split, got {grouped_conv!r}.")
    return bottleneck_resnet("resnext50_32x4d", input_shape, classes, weights, width=width, groups=cardinality,
                             split=grouped_conv == "split", blocks=blocks)
