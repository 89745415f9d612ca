"""Model builders behind one registry (registry.py); each family's builders in a module of their own, which
the registry imports (and TensorFlow with it) the first time it is asked. index.py answers what a recipe may
name without TensorFlow."""

from edgecnn.zoo.registry import (build_model, builder_options, check_options, entry, get_builder, inference_model,
                                  list_models, register_model)

__all__ = ["build_model", "builder_options", "check_options", "entry", "get_builder", "inference_model",
           "list_models", "register_model"]
