"""The zoo as data, read without TensorFlow: each model's family, role, reference input and classes, its
options with their defaults, and whether Keras publishes ImageNet weights for it. Recipes are checked against
it (edgecnn/schema.py), so `edgecnn check`, `make -n` and the commands that only read files start in a
fraction of a second instead of loading TensorFlow.

index.json is written from the live registry by `python -m edgecnn.zoo`; tests/test_zoo.py holds the
two equal, so a builder added or changed without it fails there.
"""

import difflib
import json
from functools import cache
from pathlib import Path

from edgecnn.errors import UserError

PATH = Path(__file__).with_name("index.json")
COMMON = ("input_shape", "classes", "weights")      # every builder's arguments that are not options


@cache
def models():
    """{name: {family, role, reference_input, reference_classes, options: {option: default}, imagenet}}."""
    return json.loads(PATH.read_text())


def unknown(name, known):
    """The UserError for a model name that is not in `known`."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}?" if close else f"known models: {', '.join(sorted(known))}."
    return UserError(f"unknown model '{name}': {hint}")


def check_keys(name, known, options):
    """UserError naming the first key of `options` that is not one of `known` (a builder's options)."""
    for key in options or {}:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"it takes: {', '.join(known) or 'no options'}."
            raise UserError(f"model '{name}' has no option '{key}': {hint}")


def check_options(name, options):
    """A model name and option keys a recipe may use (their values are checked by the builder)."""
    if name not in models():
        raise unknown(name, models())
    check_keys(name, models()[name]["options"], options)


def with_imagenet():
    return [name for name, m in models().items() if m["imagenet"]]


def text(index):
    """index.json's text: one model a line."""
    lines = [f"  {json.dumps(name)}: {json.dumps(index[name], sort_keys=True)}" for name in sorted(index)]
    return "{\n" + ",\n".join(lines) + "\n}\n"
