"""ImageNet top-1 as the architectures' papers publish it: never measured here (edgecnn has no ImageNet).

Each figure is the paper's own single model on the ILSVRC-2012 validation set at the zoo's reference
input, with where it is printed and how it was tested (the protocols differ: ResNet's 10-crop figures sit
about 2 points above a centre crop). Where the paper prints no top-1 for that single model, the figure
comes from the reimplementation most people use, and `source` says so. LeNet-5, micro_cnn, NiN and
WRN-28-10 are not ImageNet models here (the last two are the papers' CIFAR-10 forms): they have none.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    top1: float        # percent
    source: str


PUBLISHED = {
    "alexnet": Published(59.3, "Krizhevsky et al. 2012, Table 2: 1 CNN, top-1 error 40.7 % on ILSVRC-2012 val (two towers)"),
    "vgg16": Published(74.4, "Simonyan & Zisserman 2015, Table 3: D, train [256;512], test 384, top-1 error 25.6 %"),
    "googlenet": Published(69.8, "torchvision's reimplementation (69.78 %); Szegedy et al. 2015 print only top-5 "
                                 "(6.67 % error, 7 models x 144 crops)"),
    "resnet18": Published(72.1, "He et al. 2016, Table 2: 10-crop, top-1 error 27.88 %"),
    "resnet50": Published(77.2, "He et al. 2016, Table 3: 10-crop, top-1 error 22.85 %"),
    "squeezenet1_0": Published(57.5, "Iandola et al. 2016, Table 2"),
    "squeezenet1_1": Published(58.2, "torchvision's reimplementation (58.18 %); the SqueezeNet repository claims "
                                     "1.0's accuracy without a figure"),
    "mobilenet_v1": Published(70.6, "Howard et al. 2017, Table 8: 1.0 MobileNet-224"),
    "mobilenet_v2": Published(72.0, "Sandler et al. 2018, Table 4"),
    "mobilenet_v3_large": Published(75.2, "Howard et al. 2019, Table 3: Large 1.0"),
    "mobilenet_v3_small": Published(67.4, "Howard et al. 2019, Table 3: Small 1.0"),
    "efficientnet_b0": Published(77.1, "Tan & Le 2019, Table 2"),
    "efficientnet_b1": Published(79.1, "Tan & Le 2019, Table 2 (240x240)"),
    "efficientnet_b2": Published(80.1, "Tan & Le 2019, Table 2 (260x260)"),
    "efficientnet_b3": Published(81.6, "Tan & Le 2019, Table 2 (300x300)"),
    "efficientnet_lite0": Published(75.1, "tensorflow/tpu models/official/efficientnet/lite/README.md (float)"),
    "efficientnet_lite1": Published(76.7, "tensorflow/tpu models/official/efficientnet/lite/README.md (float, 240x240)"),
    "zfnet": Published(61.6, "Zeiler & Fergus 2014, Table 2: 1 convnet as per Fig. 3, top-1 error 38.4 % on val"),
    "xception": Published(79.0, "Chollet 2017, Table 1: single model, single crop, 299x299"),
    "se_resnet50": Published(76.7, "Hu et al. 2018, Table 2: single 224x224 crop, top-1 error 23.29 %"),
    "densenet121": Published(75.0, "Huang et al. 2017, Table 3: single crop, top-1 error 25.02 %"),
    "resnext50_32x4d": Published(77.8, "Xie et al. 2017, Table 3: 32x4d, single 224x224 crop, top-1 error 22.2 %"),
    "wide_resnet50_2": Published(78.1, "Zagoruyko & Komodakis 2016, ImageNet table: WRN-50-2-bottleneck, single crop, "
                                       "top-1 error 21.9 %"),
    "efficientnet_lite2": Published(77.6, "tensorflow/tpu models/official/efficientnet/lite/README.md (float, 260x260)"),
}


def published(name):
    """The paper's figure for a zoo model, or None (not an ImageNet model)."""
    return PUBLISHED.get(name)
