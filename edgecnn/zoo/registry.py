"""One registry: model name -> builder function. Tests iterate over it, recipes name its keys."""

import difflib
import fnmatch
import inspect

from edgecnn.errors import UserError

_BUILDERS = {}


def register_model(fn):
    """Decorator: register a builder under its function name (`def mobilenet_v2(...)`)."""
    _BUILDERS[fn.__name__] = fn
    return fn


def list_models(pattern="*"):
    return sorted(name for name in _BUILDERS if fnmatch.fnmatch(name, pattern))


def get_builder(name):
    if name not in _BUILDERS:
        close = difflib.get_close_matches(name, _BUILDERS, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else f"known models: {', '.join(list_models())}."
        raise UserError(f"unknown model '{name}': {hint}")
    return _BUILDERS[name]


def builder_options(name):
    """The keyword options a builder takes beyond the common ones (input_shape, classes, weights)."""
    params = inspect.signature(get_builder(name)).parameters
    return {p: params[p].default for p in params if p not in ("input_shape", "classes", "weights")}


def check_options(name, options):
    known = builder_options(name)
    for key in options or {}:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"it takes: {', '.join(known) or 'no options'}."
            raise UserError(f"model '{name}' has no option '{key}': {hint}")


def build_model(name, input_shape, classes, options=None, weights=None):
    check_options(name, options)
    return get_builder(name)(input_shape=tuple(input_shape), classes=classes, weights=weights, **(options or {}))
