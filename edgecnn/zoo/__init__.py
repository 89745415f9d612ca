"""Model builders behind one registry. Importing a family module registers its builders."""

from edgecnn.zoo import mobilenet_v2  # noqa: F401  (registers)
from edgecnn.zoo.registry import (build_model, builder_options, check_options, get_builder, list_models,
                                  register_model)

__all__ = ["build_model", "builder_options", "check_options", "get_builder", "list_models", "register_model"]
