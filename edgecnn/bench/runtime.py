"""Pick a TFLite runtime: ai-edge-litert (LiteRT), else tflite-runtime, else tf.lite from TensorFlow.

TensorFlow is imported only as the last resort, and only when asked for or when nothing else is there.
"""

import importlib
from dataclasses import dataclass
from importlib import metadata

# name -> (module holding Interpreter, attribute path, distribution for the version)
RUNTIMES = {
    "litert": ("ai_edge_litert.interpreter", "Interpreter", "ai-edge-litert"),
    "tflite-runtime": ("tflite_runtime.interpreter", "Interpreter", "tflite-runtime"),
    "tensorflow": ("tensorflow", "lite.Interpreter", "tensorflow"),
}


class RuntimeMissing(RuntimeError):
    pass


@dataclass
class Runtime:
    name: str
    version: str
    interpreter_class: type
    module: object = None

    def interpreter(self, path, threads, xnnpack=True):
        """An Interpreter for `path`; xnnpack=False gives the runtime's reference kernels (no default delegate)."""
        if xnnpack:
            return self.interpreter_class(model_path=str(path), num_threads=threads)
        resolver = self._module_attr("OpResolverType").BUILTIN_WITHOUT_DEFAULT_DELEGATES
        return self.interpreter_class(model_path=str(path), num_threads=threads,
                                      experimental_op_resolver_type=resolver)

    def _module_attr(self, name):
        """`name` from the module that holds Interpreter (tf.lite keeps it under tf.lite.experimental)."""
        for holder in (self.module, getattr(getattr(self.module, "lite", None), "experimental", None)):
            if holder is not None and hasattr(holder, name):
                return getattr(holder, name)
        raise RuntimeMissing(f"{self.name} {self.version} has no {name}; --no-xnnpack needs a newer runtime.")


def _load(name):
    module_name, attr, dist = RUNTIMES[name]
    module = importlib.import_module(module_name)
    cls = module
    for part in attr.split("."):
        cls = getattr(cls, part)
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = getattr(module, "__version__", "?")
    return Runtime(name, version, cls, module)


def pick_runtime(name="auto"):
    names = list(RUNTIMES) if name == "auto" else [name]
    for candidate in names:
        try:
            return _load(candidate)
        except ImportError:
            continue
    if name == "auto":
        raise RuntimeMissing("no TFLite runtime is installed: 'pip install ai-edge-litert' "
                             "(or tflite-runtime==2.14 with numpy<2).")
    raise RuntimeMissing(f"runtime '{name}' is not installed (pip package {RUNTIMES[name][2]}); "
                         f"drop --runtime to use whichever is installed.")
