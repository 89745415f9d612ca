"""Model builders behind one registry. Importing a family module registers its builders."""

from edgecnn.zoo import (alexnet, densenet, efficientnet, googlenet, lenet, micro_cnn, mobilenet_v1,  # noqa: F401
                         mobilenet_v2, mobilenet_v3, nin, resnet, resnext, senet, squeezenet, vgg, wide_resnet,
                         xception, zfnet)
from edgecnn.zoo.registry import (build_model, builder_options, check_options, entry, get_builder, inference_model,
                                  list_models, register_model)

__all__ = ["build_model", "builder_options", "check_options", "entry", "get_builder", "inference_model",
           "list_models", "register_model"]
