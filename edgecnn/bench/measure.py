"""Measure one or more .tflite files: load, latency (interleaved across models), memory, accuracy."""

import os
import resource
import time

import numpy as np

from edgecnn.bench.labelled import DataError
from edgecnn.bench.model_file import ModelFileError, check_tflite, first_invoke_error, load_error
from edgecnn.bench.quiet import without_info
from edgecnn.bench.progress import bar


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


INDEX_RANGE = 10     # int32/int64 inputs (indices, sizes: an embedding's GATHER) get 0 to INDEX_RANGE - 1


def random_input(detail, rng, index_range=None):
    """Random data that respects the tensor's dtype: 8- and 16-bit integers (quantized pixels, audio) over
    their whole range; 32- and 64-bit integers, which hold indices and sizes, from 0 to index_range - 1
    (default INDEX_RANGE: over the whole int32 range an embedding lookup reads outside its table)."""
    shape, dtype = detail["shape"], detail["dtype"]
    if np.issubdtype(dtype, np.integer):
        if np.dtype(dtype).itemsize >= 4:
            return rng.integers(0, index_range or INDEX_RANGE, size=shape, dtype=dtype)
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    return rng.random(shape, dtype=np.float32).astype(dtype)


def _index_range(ranges, name):
    """The --index-range for input `name`: its own, else the one given without a name, else None."""
    ranges = ranges or {}
    return ranges.get(name, ranges.get(None))


def resize_inputs(interp, shapes, path):
    """Fix every dynamic input dimension from `shapes` ({name or None: shape}; None: any input)."""
    details = interp.get_input_details()
    unknown = set(shapes) - {None} - {d["name"] for d in details}
    if unknown:
        raise ModelFileError(f"--input-shape names {', '.join(sorted(unknown))}, but the inputs of {path} are "
                             f"{', '.join(d['name'] for d in details)}.")
    for d in details:
        signature = [int(v) for v in d.get("shape_signature", d["shape"])]
        wanted = shapes.get(d["name"], shapes.get(None))
        if wanted is None:
            if -1 in signature:
                raise ModelFileError(f"input {d['name']} of {path} has a dynamic shape {signature}; give it one "
                                     f"with --input-shape {d['name']}={','.join('1' if v < 0 else str(v) for v in signature)}.")
            continue
        fits = len(wanted) == len(signature) and all(s in (-1, w) for s, w in zip(signature, wanted))
        if not fits:
            raise ModelFileError(f"--input-shape {','.join(map(str, wanted))} does not fit input {d['name']} "
                                 f"of {path}, whose shape is {signature} (-1: any size).")
        if list(wanted) != [int(v) for v in d["shape"]]:
            interp.resize_tensor_input(d["index"], list(wanted))


def check_classifier_data(path, n_inputs, n_outputs, input_shape, output_shape, x, y):
    """DataError (one sentence) unless (x, y) fits a one-input, one-output classifier of these shapes."""
    if n_inputs != 1 or n_outputs != 1:
        raise DataError(f"{path} has {n_inputs} inputs and {n_outputs} outputs; accuracy needs a classifier "
                        f"with one of each.")
    want = tuple(int(d) for d in input_shape[1:])
    if tuple(x.shape[1:]) != want:
        raise DataError(f"--data images are {'x'.join(map(str, x.shape[1:]))} but {path} takes "
                        f"{'x'.join(map(str, want))}; give a set at the model's input size.")
    classes = int(output_shape[-1])
    if y.min() < 0 or y.max() >= classes:
        raise DataError(f"--data labels run from {y.min()} to {y.max()} but {path} has {classes} "
                        f"output classes; give a labelled set for this model's classes.")


class Loaded:
    """A model ready to run, with its load figures: a TFLite Interpreter, or with `accelerator` (cpu or
    gpu) LiteRT's CompiledModel (see compiled.py)."""

    def __init__(self, path, runtime, threads, xnnpack=True, input_shapes=None, accelerator=None, index_ranges=None):
        self.path = str(path)
        self.size = check_tflite(self.path)
        self.fully_accelerated = None
        self.log, self.adapter, self.software, self.gpu_left, self.delegation = "", None, False, {}, None
        self.gpu_caveat = None
        before = rss_mb()
        start = time.perf_counter()
        try:
            with without_info():                   # the runtime's INFO notices; its warnings and errors stay
                self.interp = runtime.interpreter(self.path, threads, xnnpack)
                resize_inputs(self.interp, input_shapes or {}, self.path)
                if accelerator:
                    from edgecnn.bench.compiled import Compiled

                    self.engine = Compiled(self.path, runtime, threads, accelerator, self.interp)
                    self.fully_accelerated = self.engine.fully_accelerated
                    self.log, self.adapter = self.engine.log, self.engine.adapter
                    self.software, self.gpu_left = self.engine.software, self.engine.left
                    from edgecnn.bench.delegation import padded_convolution

                    self.gpu_caveat = padded_convolution(self.interp)
                else:
                    self.interp.allocate_tensors()
                    self.engine = self.interp
                    if xnnpack:
                        from edgecnn.bench.delegation import integer, xnnpack as partitions

                        self.delegation = partitions(self.interp)
                        if self.delegation is not None:
                            self.delegation["integer"] = integer(self.interp)
        except ModelFileError:
            raise
        except (ValueError, RuntimeError) as e:
            raise load_error(self.path, f"{runtime.name} {runtime.version}", e) from None
        self.init_ms = (time.perf_counter() - start) * 1e3
        self.inputs = self.interp.get_input_details()
        self.outputs = self.interp.get_output_details()
        rng = np.random.default_rng(0)
        names = [d["name"] for d in self.inputs]
        unknown = [n for n in (index_ranges or {}) if n is not None and n not in names]
        if unknown:
            raise ModelFileError(f"--index-range {unknown[0]}: {self.path} has no input of that name; its inputs "
                                 f"are {', '.join(names)}.")
        wide = {}
        for detail in self.inputs:
            high = _index_range(index_ranges, detail["name"])
            if np.issubdtype(detail["dtype"], np.integer) and np.dtype(detail["dtype"]).itemsize >= 4:
                wide[detail["name"]] = high or INDEX_RANGE
            self.engine.set_tensor(detail["index"], random_input(detail, rng, high))
        start = time.perf_counter()
        try:
            self.engine.invoke()
        except (ValueError, RuntimeError) as e:
            raise first_invoke_error(self.path, f"{runtime.name} {runtime.version}", e, wide) from None
        for detail in self.interp.get_output_details():
            self.engine.get_tensor(detail["index"])
        self.first_ms = (time.perf_counter() - start) * 1e3
        self.rss_mb = rss_mb() - before
        self.warmup_ms = []
        self.times_ms = []

    def invoke(self):
        self.engine.invoke()

    def timed_invoke(self, log=None):
        """One inference timed to its outputs' read-back: an asynchronous accelerator (a GPU) has done
        the work only when the result is in host memory, not when invoke() returns."""
        start = time.perf_counter_ns()
        self.engine.invoke()
        for detail in self.outputs:
            self.engine.get_tensor(detail["index"])
        (self.times_ms if log is None else log).append((time.perf_counter_ns() - start) / 1e6)

    def raw(self, x):
        """The output tensor as the runtime wrote it (quantized steps for an integer output), one image batch."""
        self.engine.set_tensor(self.inputs[0]["index"], to_input(x, self.inputs[0]))
        self.engine.invoke()
        return self.engine.get_tensor(self.outputs[0]["index"])

    def predict(self, x):
        """Class scores for one image batch of 1 (single-input, single-output classifiers)."""
        return from_output(self.raw(x), self.outputs[0])

    def check_data(self, x, y):
        check_classifier_data(self.path, len(self.inputs), len(self.outputs), self.inputs[0]["shape"],
                              self.outputs[0]["shape"], x, y)

    def accuracy(self, x, y):
        """top-1 and top-5, and per class: top-1 and the confusion matrix (rows true, columns predicted)."""
        self.check_data(x, y)
        top5 = 0
        predicted = []
        for image, label in bar(f"accuracy {os.path.basename(self.path)}", list(zip(x, y))):
            scores = self.predict(image[None])[0]
            predicted.append(int(np.argmax(scores)))
            top5 += int(label in np.argsort(scores)[-5:])
        classes = int(len(scores))
        confusion = np.zeros((classes, classes), dtype=np.int64)
        np.add.at(confusion, (y, np.array(predicted)), 1)
        images = confusion.sum(axis=1)
        return {"top1": int(np.trace(confusion)) / len(y), "top5": top5 / len(y), "samples": int(len(y)),
                "classes": classes, "fewest": int(np.unique(y, return_counts=True)[1].min()),  # the rarest class
                "per_class_top1": [float(confusion[c, c] / n) if n else None for c, n in enumerate(images)],
                "per_class_images": images.tolist(), "confusion": confusion.tolist()}


ROUNDS = 5      # the timed runs in consecutive rounds: each round's median shows the spread within one run


def latency_stats(times_ms, rounds=ROUNDS):
    """Median, mean, tail and spread of the timed runs, and the median of each of `rounds` consecutive rounds
    (the runs are interleaved across files, so round i of every file covers the same stretch of time)."""
    t = np.asarray(times_ms)
    chunks = [c for c in np.array_split(t, min(rounds, t.size)) if c.size]
    return {"median": float(np.median(t)), "mean": float(t.mean()), "p90": float(np.percentile(t, 90)),
            "p99": float(np.percentile(t, 99)), "std": float(t.std()), "min": float(t.min()), "runs": int(t.size),
            "round_medians": [float(np.median(c)) for c in chunks]}


def benchmark(paths, runtime, threads=2, runs=50, warmup=5, data=None, guard=True, **options):
    """(figures for each model, resident memory growth over the timed runs in MB).

    Latencies are taken interleaved (A B A B ...) so ratios hold on a noisy machine. With `guard`, every
    file is first loaded and run once in a child process (guard.py), so a runtime's crash is one sentence.
    """
    if guard:
        from edgecnn.bench import guard as child

        child.check(paths, runtime, threads, options.get("xnnpack", True), options.get("index_ranges"))
    models = [Loaded(p, runtime, threads, **options) for p in paths]
    for _ in range(warmup):
        for m in models:
            m.timed_invoke(m.warmup_ms)
    before = rss_mb()
    for _ in range(runs):
        for m in models:
            m.timed_invoke()
    growth = rss_mb() - before
    results = []
    for m in models:
        result = {
            "path": m.path, "bytes": m.size, "init_ms": m.init_ms, "first_inference_ms": m.first_ms,
            "warmup_runs": warmup, "warmup_ms": float(np.mean(m.warmup_ms)) if m.warmup_ms else None,
            "latency_ms": latency_stats(m.times_ms), "rss_delta_mb": m.rss_mb,
            "fully_accelerated": m.fully_accelerated,
            **({"gpu_adapter": m.adapter, "gpu_software": m.software, "accelerator_log": m.log.splitlines()}
               if m.log else {}),
            **({"gpu_left": m.gpu_left} if m.gpu_left else {}),
            **({"gpu_caveat": m.gpu_caveat} if m.gpu_caveat else {}),
            **({"xnnpack": m.delegation} if m.delegation is not None else {}),
            "inputs": [_tensor(d) for d in m.inputs], "outputs": [_tensor(d) for d in m.outputs],
        }
        if data is not None:
            result["accuracy"] = m.accuracy(*data)
        results.append(result)
    return results, growth


def overhead(path, runtime, threads, runs, block=10, **options):
    """The bench's own cost: its median per-run time against a bare invoke() loop on the same interpreter.

    The bare loop is timed in blocks of `block` invokes (no timer between them); timed runs and bare
    blocks alternate in one process, so both see the same machine. Returns (bench median ms, median of
    the bare blocks' ms per invoke).
    """
    m = Loaded(path, runtime, threads, **options)
    bare = []
    for _ in range(max(1, runs // block)):
        for _ in range(block):
            m.timed_invoke()
        start = time.perf_counter_ns()
        for _ in range(block):
            m.invoke()
        bare.append((time.perf_counter_ns() - start) / 1e6 / block)
    return float(np.median(m.times_ms)), float(np.median(bare))


def _tensor(detail):
    scale, zero = detail["quantization"]
    return {"name": detail["name"], "shape": [int(d) for d in detail["shape"]],
            "dtype": np.dtype(detail["dtype"]).name, "scale": float(scale), "zero_point": int(zero)}
