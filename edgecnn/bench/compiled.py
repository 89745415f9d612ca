"""LiteRT's CompiledModel API: the model compiled for an accelerator (cpu, or gpu with cpu fallback).

It takes the place of an Interpreter in measure.Loaded (set_tensor / invoke / get_tensor by the
Interpreter's tensor indices); the Interpreter, never allocated, supplies the tensor details and
quantization. Needs ai-edge-litert; tflite-runtime and tf.lite have no such API.
"""

import ctypes
import ctypes.util

import numpy as np

from edgecnn.bench.model_file import ModelFileError
from edgecnn.bench.quiet import captured_stderr

ACCELERATORS = ("cpu", "gpu")
VULKAN = "libvulkan.so.1"


class GpuUnavailable(ModelFileError):
    """No GPU LiteRT can use: the message names what is missing."""


def vulkan_loader():
    """The Vulkan loader's library name when it can be loaded, else None. ai-edge-litert's GPU
    accelerator on Linux is WebGPU (Dawn) over Vulkan, so without it no GPU is usable."""
    for name in (VULKAN, ctypes.util.find_library("vulkan")):
        if name:
            try:
                ctypes.CDLL(name)
                return name
            except OSError:
                pass
    return None


def adapter(log):
    """The GPU LiteRT's WebGPU environment chose, as its log names it ("NVIDIA H100 ..., backend=Vulkan"), or None."""
    for line in log.splitlines():
        if "Selected adapter:" in line:
            name, *rest = line.split("Selected adapter:", 1)[1].strip().split(", ")
            backend = [part for part in rest if part.startswith("backend=")]
            return ", ".join([name, *backend])
    return None


def software(log):
    """Whether the adapter LiteRT chose is a software GPU on the CPU (SwiftShader: "adapterType=CPU / Software")."""
    return any("Selected adapter:" in line and "adapterType=CPU" in line for line in log.splitlines())


SWIFTSHADER = "/usr/lib/chromium/vk_swiftshader_icd.json"     # SwiftShader's Vulkan driver, in Debian's chromium-common
SWIFTSHADER_HOW = ("for a software GPU that shows which ops run on the GPU path and what they compute (not GPU "
                   f"speed), install SwiftShader (Debian: apt-get install chromium-common libvulkan1) and set "
                   f"VK_DRIVER_FILES={SWIFTSHADER}")


def gpu_missing(path, log=""):
    """One sentence: why LiteRT's GPU accelerator could not take `path`, from what is missing."""
    if vulkan_loader() is None:
        return (f"LiteRT's GPU accelerator could not start for {path}: it runs over Vulkan and this machine has "
                f"no Vulkan loader ({VULKAN}); install it (Debian/Ubuntu: apt-get install libvulkan1) with the "
                f"GPU driver's Vulkan driver ({SWIFTSHADER_HOW} instead), or run without --accelerator gpu.")
    if "No adapters found" in log:
        return (f"LiteRT's GPU accelerator found no GPU for {path}: the Vulkan loader is there but no GPU driver "
                f"registers with it; install the driver's Vulkan part (NVIDIA: nvidia_icd.json, which "
                f"VK_DRIVER_FILES can point to; {SWIFTSHADER_HOW}), or run without --accelerator gpu.")
    errors = [line.strip() for line in log.splitlines() if "ERROR" in line and "No such file" not in line]
    said = f" (LiteRT: {errors[-1][:200]})" if errors else ""
    return (f"LiteRT's GPU accelerator could not compile {path}{said}; run without --accelerator gpu, or on a "
            f"machine whose GPU has a Vulkan driver.")


class Compiled:
    def __init__(self, path, runtime, threads, accelerator, interp):
        if runtime.name != "litert":
            raise ModelFileError(f"--accelerator needs LiteRT's CompiledModel API ('pip install ai-edge-litert'); "
                                 f"{runtime.name} {runtime.version} has none.")
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator as HA

        inputs, outputs = interp.get_input_details(), interp.get_output_details()
        if any(-1 in list(d.get("shape_signature", d["shape"])) for d in inputs):
            raise ModelFileError(f"{path} has dynamic input shapes; --accelerator runs fixed-shape models only.")
        self.log, self.adapter, self.software, self.left = "", None, False, {}
        if accelerator == "gpu":
            self.model, self.fully_accelerated = self._on_gpu(path, threads)
        else:
            self.model = CompiledModel.from_file(path, options=self._options(HA.CPU, threads))
            # LiteRT counts its CPU accelerator too: on cpu is_fully_accelerated() is always True, which
            # says nothing about a GPU, so it is not reported.
            self.fully_accelerated = None
        self.in_buffers, self.out_buffers = self.model.create_input_buffers(0), self.model.create_output_buffers(0)
        self.slots = {}
        for details, buffers in ((inputs, self.in_buffers), (outputs, self.out_buffers)):
            if len(details) != len(buffers):
                raise ModelFileError(f"{path}: its first signature has {len(buffers)} tensors where the graph has "
                                     f"{len(details)}; --accelerator needs a model whose signature is its graph.")
            for d, buffer in zip(details, buffers):
                got = buffer.get_tensor_details()
                if np.dtype(got["dtype"]) != np.dtype(d["dtype"]) or list(got["shape"]) != list(d["shape"]):
                    raise ModelFileError(f"{path}: the signature orders its tensors unlike the graph; "
                                         f"--accelerator cannot map tensor {d['name']}.")
                self.slots[d["index"]] = (buffer, d)

    @staticmethod
    def _options(accelerators, threads):
        from ai_edge_litert.options import CpuOptions, Options

        return Options(hardware_accelerators=accelerators, cpu_options=CpuOptions(num_threads=threads))

    def _on_gpu(self, path, threads):
        """(compiled model, whether the GPU runs the whole graph).

        First the GPU alone: when LiteRT compiles the model so and reports it fully accelerated, every
        op runs on the GPU. Otherwise GPU with CPU fallback, and the answer is False. LiteRT's own log
        lines are kept (self.log) and name the reason when no GPU can be used.
        """
        found = None
        with captured_stderr(stdout=True) as log:
            from ai_edge_litert.compiled_model import CompiledModel
            from ai_edge_litert.hardware_accelerator import HardwareAccelerator as HA

            try:
                model = CompiledModel.from_file(path, options=self._options(HA.GPU, threads))
                if model.is_fully_accelerated():
                    found = (model, True)
            except RuntimeError:
                pass
            if found is None:
                try:
                    found = (CompiledModel.from_file(path, options=self._options(HA.GPU | HA.CPU, threads)), False)
                except RuntimeError:
                    pass
        self.log = log.text
        self.adapter, self.software = adapter(self.log), software(self.log)
        if found is not None and not found[1]:
            from edgecnn.bench.delegation import gpu

            self.left = gpu(self.log)
        if found is None:
            raise GpuUnavailable(gpu_missing(path, self.log))
        return found

    def set_tensor(self, index, value):
        self.slots[index][0].write(np.ascontiguousarray(value))

    def get_tensor(self, index):
        buffer, d = self.slots[index]
        return buffer.read(int(np.prod(d["shape"])), d["dtype"]).reshape(d["shape"])

    def invoke(self):
        self.model.run_by_index(0, self.in_buffers, self.out_buffers)
