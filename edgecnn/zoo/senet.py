"""SE-ResNet-50 (Hu et al. 2018): ResNet-50 with a squeeze-and-excitation block in every bottleneck.

The SE block (zoo/layers.py squeeze_excite) pools each channel to one number, squeezes the channels by
`reduction` (16 in the paper) through a ReLU, expands them back through a sigmoid and scales the block's
output with them: the channel attention that MobileNet v3 and EfficientNet borrow. The stride sits on
the first 1x1 convolution, as in the paper's Caffe model. At 224x224x3 with 1000 classes: 28,088,024
trainable parameters, the count of the published model's PyTorch port (Cadene's pretrainedmodels
se_resnet50; the paper's Table 2: 28.1 M), and 3.87 G multiply-adds (Table 2: 3.87 GFLOPs).
"""

from edgecnn.zoo.bottleneck import bottleneck_resnet
from edgecnn.zoo.layers import check_int
from edgecnn.zoo.registry import register_model


@register_model(family="senet", role="baseline")
def se_resnet50(input_shape=(224, 224, 3), classes=1000, weights=None, reduction=16, blocks=(3, 4, 6, 3)):
    """SE-ResNet-50. reduction: the SE block's channel squeeze, 1-256 (16 in the paper); blocks: per stage."""
    check_int("se_resnet50", "reduction", reduction, 1, 256)
    return bottleneck_resnet("se_resnet50", input_shape, classes, weights, se=reduction, stride_on_3x3=False,
                             blocks=blocks)
