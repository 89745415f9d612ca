"""Measure one or more .tflite files: load, latency (interleaved across models), memory, accuracy."""

import os
import resource
import time

import numpy as np

from edgecnn.bench.labelled import DataError
from edgecnn.bench.model_file import ModelFileError, check_tflite


def rss_mb():
    """Current resident memory of this process (Linux /proc; elsewhere the peak, which is what exists)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb():
    """Peak resident memory. Linux: VmHWM, which starts afresh at exec (ru_maxrss keeps the parent's peak)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if os.uname().sysname == "Darwin" else peak / 2**10


def to_input(x, detail):
    """Real-valued pixels -> the input tensor's dtype, through its quantization when it has one."""
    dtype = detail["dtype"]
    scale, zero = detail["quantization"]
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        return np.clip(np.round(x.astype(np.float32) / scale + zero), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def from_output(y, detail):
    scale, zero = detail["quantization"]
    if np.issubdtype(detail["dtype"], np.integer) and scale:
        return (y.astype(np.float32) - zero) * scale
    return y.astype(np.float32)


def random_input(detail, rng):
    """Random data that respects the tensor's dtype (and so its quantized range)."""
    shape, dtype = detail["shape"], detail["dtype"]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return rng.random(shape, dtype=np.float32).astype(dtype)


class Loaded:
    """An interpreter ready to run, with its load figures."""

    def __init__(self, path, runtime, threads):
        self.path = str(path)
        self.size = check_tflite(self.path)
        before = rss_mb()
        start = time.perf_counter()
        try:
            self.interp = runtime.interpreter(self.path, threads)
            self.interp.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelFileError(f"{self.path} could not be loaded by {runtime.name} {runtime.version}: {first}.")
        self.init_ms = (time.perf_counter() - start) * 1e3
        self.inputs = self.interp.get_input_details()
        self.outputs = self.interp.get_output_details()
        rng = np.random.default_rng(0)
        for detail in self.inputs:
            self.interp.set_tensor(detail["index"], random_input(detail, rng))
        start = time.perf_counter()
        self.interp.invoke()
        self.first_ms = (time.perf_counter() - start) * 1e3
        self.rss_mb = rss_mb() - before
        self.times_ms = []

    def timed_invoke(self):
        start = time.perf_counter_ns()
        self.interp.invoke()
        self.times_ms.append((time.perf_counter_ns() - start) / 1e6)

    def predict(self, x):
        """Class scores for one image batch of 1 (single-input, single-output classifiers)."""
        self.interp.set_tensor(self.inputs[0]["index"], to_input(x, self.inputs[0]))
        self.interp.invoke()
        return from_output(self.interp.get_tensor(self.outputs[0]["index"]), self.outputs[0])

    def check_data(self, x, y):
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            raise DataError(f"{self.path} has {len(self.inputs)} inputs and {len(self.outputs)} outputs; "
                            f"accuracy needs a classifier with one of each.")
        want = tuple(self.inputs[0]["shape"][1:])
        if tuple(x.shape[1:]) != want:
            raise DataError(f"--data images are {'x'.join(map(str, x.shape[1:]))} but {self.path} takes "
                            f"{'x'.join(map(str, want))}; give a set at the model's input size.")
        classes = int(self.outputs[0]["shape"][-1])
        if y.min() < 0 or y.max() >= classes:
            raise DataError(f"--data labels run from {y.min()} to {y.max()} but {self.path} has {classes} "
                            f"output classes; give a labelled set for this model's classes.")

    def accuracy(self, x, y):
        self.check_data(x, y)
        top1 = top5 = 0
        for image, label in zip(x, y):
            scores = self.predict(image[None])[0]
            top1 += int(np.argmax(scores) == label)
            top5 += int(label in np.argsort(scores)[-5:])
        return {"top1": top1 / len(y), "top5": top5 / len(y), "samples": int(len(y))}


def latency_stats(times_ms):
    t = np.asarray(times_ms)
    return {"median": float(np.median(t)), "mean": float(t.mean()), "p90": float(np.percentile(t, 90)),
            "p99": float(np.percentile(t, 99)), "std": float(t.std()), "min": float(t.min()), "runs": int(t.size)}


def benchmark(paths, runtime, threads=2, runs=50, warmup=5, data=None):
    """Figures for each model; latencies are taken interleaved (A B A B ...) so ratios hold on a noisy machine."""
    models = [Loaded(p, runtime, threads) for p in paths]
    for _ in range(warmup):
        for m in models:
            m.interp.invoke()
    for _ in range(runs):
        for m in models:
            m.timed_invoke()
    results = []
    for m in models:
        result = {
            "path": m.path, "bytes": m.size, "init_ms": m.init_ms, "first_inference_ms": m.first_ms,
            "warmup_runs": warmup, "latency_ms": latency_stats(m.times_ms), "rss_delta_mb": m.rss_mb,
            "inputs": [_tensor(d) for d in m.inputs], "outputs": [_tensor(d) for d in m.outputs],
        }
        if data is not None:
            result["accuracy"] = m.accuracy(*data)
        results.append(result)
    return results


def _tensor(detail):
    scale, zero = detail["quantization"]
    return {"name": detail["name"], "shape": [int(d) for d in detail["shape"]],
            "dtype": np.dtype(detail["dtype"]).name, "scale": float(scale), "zero_point": int(zero)}
