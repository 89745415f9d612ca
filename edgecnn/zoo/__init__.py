"""Model builders behind one registry. Importing a family module registers its builders."""

from edgecnn.zoo import alexnet, lenet, mobilenet_v1, mobilenet_v2, resnet, squeezenet, vgg  # noqa: F401
from edgecnn.zoo.registry import (build_model, builder_options, check_options, entry, get_builder, list_models,
                                  register_model)

__all__ = ["build_model", "builder_options", "check_options", "entry", "get_builder", "list_models",
           "register_model"]
