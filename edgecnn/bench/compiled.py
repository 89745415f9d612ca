"""LiteRT's CompiledModel API: the model compiled for an accelerator (cpu, or gpu with cpu fallback).

It takes the place of an Interpreter in measure.Loaded (set_tensor / invoke / get_tensor by the
Interpreter's tensor indices); the Interpreter, never allocated, supplies the tensor details and
quantization. Needs ai-edge-litert; tflite-runtime and tf.lite have no such API.
"""

import numpy as np

from edgecnn.bench.model_file import ModelFileError

ACCELERATORS = ("cpu", "gpu")


class Compiled:
    def __init__(self, path, runtime, threads, accelerator, interp):
        if runtime.name != "litert":
            raise ModelFileError(f"--accelerator needs LiteRT's CompiledModel API ('pip install ai-edge-litert'); "
                                 f"{runtime.name} {runtime.version} has none.")
        from ai_edge_litert.compiled_model import CompiledModel
        from ai_edge_litert.hardware_accelerator import HardwareAccelerator as HA
        from ai_edge_litert.options import CpuOptions, Options

        inputs, outputs = interp.get_input_details(), interp.get_output_details()
        if any(-1 in list(d.get("shape_signature", d["shape"])) for d in inputs):
            raise ModelFileError(f"{path} has dynamic input shapes; --accelerator runs fixed-shape models only.")
        wanted = HA.GPU | HA.CPU if accelerator == "gpu" else HA.CPU
        try:
            self.model = CompiledModel.from_file(path, options=Options(hardware_accelerators=wanted,
                                                                         cpu_options=CpuOptions(num_threads=threads)))
        except RuntimeError as e:
            if accelerator == "gpu":
                raise ModelFileError(f"LiteRT found no GPU it can use for {path} (its GPU accelerator could not "
                                     f"start); run without --accelerator gpu, or on a machine with a GPU.") from None
            raise
        # LiteRT counts its CPU accelerator too: on cpu is_fully_accelerated() is always True, which says
        # nothing about a GPU. Reported for gpu only (never checked on a GPU here: see docs/benchmark.md).
        self.fully_accelerated = bool(self.model.is_fully_accelerated()) if accelerator == "gpu" else None
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

    def set_tensor(self, index, value):
        self.slots[index][0].write(np.ascontiguousarray(value))

    def get_tensor(self, index):
        buffer, d = self.slots[index]
        return buffer.read(int(np.prod(d["shape"])), d["dtype"]).reshape(d["shape"])

    def invoke(self):
        self.model.run_by_index(0, self.in_buffers, self.out_buffers)
