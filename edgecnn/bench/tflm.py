"""A .tflite file on TensorFlow Lite Micro's own interpreter (the tflite-micro pip package): whether a
microcontroller runtime can run it, the tensor arena it needs, and its accuracy there.

TFLM's Python binding aborts or segfaults the whole process when an arena is too small or a kernel's
check trips, so every probe runs in a child process (edgecnn.bench.tflm_probe) and a crash there is a
measured outcome, never the user's crash. The arena comes from TFLM twice: its recording allocator's
head (the planned activations) and tail (quantization parameters, eval tensors, operator data), and the
smallest size that allocates and runs, found over child probes: down from the recorded size in doubling steps,
then by bisection.

The host runs TFLM's reference kernels in a 64-bit process: its latency says nothing about a
microcontroller's and is not reported; the arena of a 32-bit build with optimized kernels (CMSIS-NN)
differs somewhat, which is why the exported constant carries a margin.
"""

import os
import re
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass

import numpy as np

from edgecnn.bench.model_file import ModelFileError, check_tflite
from edgecnn.bench.runtime import RuntimeMissing

ALIGN = 16
PROBE_TIMEOUT_S = 300
MAX_ARENA = 1 << 30           # no microcontroller has more; past it a file "does not fit" rather than "needs"
_TOO_SMALL = re.compile(r"Failed to (resize buffer|allocate)|missing: \d+|[Aa]rena size is too small")


class Refused(ModelFileError):
    """TFLM cannot run the file; the message is one sentence naming why."""


def version():
    try:
        from importlib import metadata

        return metadata.version("tflite-micro")
    except Exception:
        return "?"


def require():
    """RuntimeMissing with the install line when tflite-micro is not importable."""
    try:
        import tflite_micro  # noqa: F401
    except ImportError:
        raise RuntimeMissing("TFLite Micro is not installed: 'pip install tflite-micro' (edgecnn pins it in "
                             "constraints.txt).") from None


@dataclass
class Probe:
    arena: int
    ok: bool
    too_small: bool
    log: str
    head: int = None
    tail: int = None
    total: int = None
    signal: str = None


def probe(path, arena):
    """Run `path` once on TFLM with an arena of `arena` bytes, in a child process."""
    try:
        proc = subprocess.run([sys.executable, "-m", "edgecnn.bench.tflm_probe", str(path), str(arena)],
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
                              env={**os.environ, "PYTHONFAULTHANDLER": ""})
    except subprocess.TimeoutExpired:
        return Probe(arena, False, False, f"no answer from TFLM in {PROBE_TIMEOUT_S} s")
    log = (proc.stdout + proc.stderr).strip()
    figures = {k: int(v) for k, v in re.findall(r"Arena allocation (head|tail|total) (\d+) bytes", log)}
    if proc.returncode == 0 and "total" in figures:
        return Probe(arena, True, False, log, figures.get("head"), figures.get("tail"), figures["total"])
    killed = signal.Signals(-proc.returncode).name if proc.returncode < 0 else None
    return Probe(arena, False, killed is not None or bool(_TOO_SMALL.search(log)), log, signal=killed)


@dataclass
class Arena:
    head: int           # TFLM's recording allocator: the planned activations
    tail: int           # ... and the persistent data (quantization parameters, eval tensors, op data)
    recorded: int       # head + tail as TFLM recorded them with a roomy arena
    smallest: int       # the smallest arena (to 16 bytes) that allocated and ran
    probes: int         # child processes run to find it
    crashes: int        # of those, how many TFLM ended with a signal (a measured "too small")


def _roomy(path):
    return max(1 << 22, 10 * os.path.getsize(path))


def static_refusal(path, facts):
    """The one sentence for a file TFLM cannot run, decided from the flatbuffer alone; None when it may."""
    from edgecnn.bench.tflm_ops import missing

    lacking = missing(facts)
    if facts.float16:
        return (f"{path} holds float16 weights (an fp16 file for GPU delegates), which TFLite Micro cannot "
                f"dequantize; give it the full-integer file (the int8 variant).")
    if facts.hybrid:
        return (f"{path} is a dynamic-range file (int8 weights, float activations), a hybrid model TFLite "
                f"Micro does not run; give it the full-integer file (the int8 variant).")
    if lacking or facts.custom:
        parts = [f"the operator{'s' if len(lacking) > 1 else ''} {', '.join(lacking)}"] if lacking else []
        if facts.custom:
            parts.append(f"the custom op{'s' if len(facts.custom) > 1 else ''} {', '.join(facts.custom)}")
        return (f"{path} uses {' and '.join(parts)}, which TFLite Micro does not have; change the model so it "
                f"needs only TFLM's builtin operators (or register a custom kernel in the firmware).")
    if facts.dynamic:
        return (f"{path} has dynamic input shapes ({'; '.join(facts.dynamic)}), which TFLite Micro cannot "
                f"allocate; convert with a fixed batch-1 signature (edgecnn convert does).")
    return None


def _log_refusal(path, p):
    """One sentence from TFLM's own log of a probe that failed with a roomy arena."""
    lines = [ln.strip() for ln in p.log.splitlines() if ln.strip() and not ln.startswith("refused:")]
    node = next((ln for ln in lines if "failed to prepare" in ln or "Didn't find op" in ln), None)
    why = next((ln for ln in lines if ln is not node and "RecordingMicroAllocator" not in ln), None)
    if p.signal:
        where = f" ({node})" if node else ""
        return (f"TFLite Micro's interpreter crashed ({p.signal}) preparing {path} even with a "
                f"{p.arena:,}-byte arena{where}; the file cannot run there as it is.")
    detail = "; ".join(x.rstrip(".") for x in (why, node) if x) or "no reason given"
    return f"TFLite Micro refused {path}: {detail}."


def check(path):
    """Refused (one sentence) unless TFLM has every operator of `path`; returns the FileFacts."""
    require()
    check_tflite(str(path))
    from edgecnn.bench.tflm_ops import read_facts

    with open(path, "rb") as f:
        data = f.read()
    try:
        facts = read_facts(data)
    except Exception as e:          # a flatbuffer that parses to nonsense: TFLM's own reader would too
        raise Refused(f"{path} is damaged or truncated: its flatbuffer cannot be read ({str(e).rstrip('.')}); "
                      f"copy or convert it again.") from None
    sentence = static_refusal(path, facts)
    if sentence:
        raise Refused(sentence)
    return facts


def measure_arena(path):
    """The Arena TFLM needs for `path` (Refused when TFLM cannot run it at all)."""
    check(path)
    roomy, probes = _roomy(path), 1
    first = probe(path, roomy)
    while not first.ok and first.too_small and first.signal is None and roomy < MAX_ARENA:
        roomy, probes = roomy * 4, probes + 1          # activations far larger than the weights
        first = probe(path, roomy)
    if not first.ok:
        raise Refused(_log_refusal(path, first))
    crashes = 0
    low, high = 0, first.total            # low: known (or assumed, at 0) to fail; high: ran
    top = probe(path, first.total)
    probes += 1
    if not top.ok:
        crashes += top.signal is not None
        low, high = first.total, roomy
    else:                                 # the smallest is at or just under the recorded total: gallop down to it
        step = ALIGN
        while high - step > low:
            p = probe(path, high - step)
            probes += 1
            crashes += p.signal is not None
            if p.ok:
                high, step = high - step, step * 2
            elif p.too_small:
                low = high - step
                break
            else:
                raise Refused(_log_refusal(path, p))
    while high - low > ALIGN:
        mid = (low + high) // 2 // ALIGN * ALIGN
        if mid <= low:
            mid = low + ALIGN
        p = probe(path, mid)
        probes += 1
        crashes += p.signal is not None
        if p.ok:
            high = mid
        elif p.too_small:
            low = mid
        else:
            raise Refused(_log_refusal(path, p))
    return Arena(first.head, first.tail, first.total, high, probes, crashes)


def with_margin(arena_bytes, margin):
    """An arena constant for firmware: `arena_bytes` plus `margin` (a fraction), at least 1 KiB more, in
    whole 16-byte blocks."""
    extra = max(1024, int(arena_bytes * margin))
    return (arena_bytes + extra + ALIGN - 1) // ALIGN * ALIGN


# --- accuracy ------------------------------------------------------------------------------------------

def _quantization(detail):
    q = detail["quantization_parameters"]
    scales, zeros = q["scales"], q["zero_points"]
    return (float(scales[0]), int(zeros[0])) if len(scales) else (0.0, 0)


class Runner:
    """`path` on TFLM in this process, with an arena that a child probe has shown to be enough."""

    def __init__(self, path, arena_bytes):
        from tflite_micro import runtime

        with open(path, "rb") as f:
            self.interp = runtime.Interpreter.from_bytes(f.read(), arena_size=arena_bytes)
        self.path = str(path)
        self.input, self.output = (
            {"dtype": d["dtype"], "shape": d["shape"], "quantization": _quantization(d)}
            for d in (self.interp.get_input_details(0), self.interp.get_output_details(0)))

    def raw(self, x):
        """The output tensor as TFLM wrote it (quantized steps for an integer output) for one image batch."""
        from edgecnn.bench.measure import to_input

        self.interp.set_input(to_input(x, self.input), 0)
        self.interp.invoke()
        return np.array(self.interp.get_output(0))


def evaluate(path, x, y, arena_bytes, reference=None):
    """Top-1/top-5 of `path` on TFLM over (x, y); with `reference` (a measure.Loaded on another runtime) also
    how often the two agree on the class and the largest difference of their raw outputs."""
    from edgecnn.bench.measure import check_classifier_data, from_output

    runner = Runner(path, arena_bytes)
    check_classifier_data(path, 1, 1, runner.input["shape"], runner.output["shape"], x, y)
    top1 = top5 = agree = ref_top1 = 0
    max_steps = 0.0
    for image, label in zip(x, y):
        raw = runner.raw(image[None])
        scores = from_output(raw, runner.output)[0]
        top1 += int(np.argmax(scores) == label)
        top5 += int(label in np.argsort(scores)[-5:])
        if reference is not None:
            theirs = reference.raw(image[None])
            agree += int(np.argmax(theirs) == np.argmax(raw))
            ref_top1 += int(np.argmax(theirs) == label)
            max_steps = max(max_steps, float(np.abs(theirs.astype(np.float64) - raw.astype(np.float64)).max()))
    n = len(y)
    out = {"top1": top1 / n, "top5": top5 / n, "samples": int(n)}
    if reference is not None:
        integer = np.issubdtype(runner.output["dtype"], np.integer)
        out["reference"] = {"top1": ref_top1 / n, "agreement": agree / n,
                            "max_output_difference": max_steps, "unit": "quantized steps" if integer else "float"}
    return out


def report(path, data=None, reference_runtime=None):
    """Everything TFLM says about one file: size, arena, accuracy (and agreement with another runtime)."""
    arena = measure_arena(path)
    result = {"path": str(path), "bytes": os.path.getsize(path), "arena": asdict(arena)}
    if data is not None:
        reference = None
        if reference_runtime is not None:
            from edgecnn.bench.measure import Loaded

            reference = Loaded(path, reference_runtime, threads=1)
            result["reference_runtime"] = f"{reference_runtime.name} {reference_runtime.version}"
        result["accuracy"] = evaluate(path, *data, arena_bytes=with_margin(arena.smallest, 0.0),
                                      reference=reference)
    return result


def render(rep):
    lines = [f"TFLite Micro {rep['version']}: its own interpreter on this host (reference kernels; host latency "
             f"is not a microcontroller's and is not measured)"]
    for r in rep["models"]:
        a = r["arena"]
        lines += [f"{r['path']}: {r['bytes']:,} bytes (flash)",
                  f"  tensor arena: {a['recorded']:,} bytes recorded by TFLM (head {a['head']:,} activations + "
                  f"tail {a['tail']:,} runtime data); smallest that runs: {a['smallest']:,} bytes "
                  f"({a['probes']} child-process probes, {a['crashes']} ended by a crash)"]
        acc = r.get("accuracy")
        if acc:
            lines.append(f"  top-1 {100 * acc['top1']:.2f} %, top-5 {100 * acc['top5']:.2f} % on {acc['samples']:,} "
                         f"images")
            ref = acc.get("reference")
            if ref:
                lines.append(f"  {r['reference_runtime']} on the same images: top-1 {100 * ref['top1']:.2f} % "
                             f"({100 * (acc['top1'] - ref['top1']):+.2f} pt on TFLM); same class for "
                             f"{100 * ref['agreement']:.2f} %; outputs differ by at most "
                             f"{ref['max_output_difference']:g} {ref['unit']}")
    return "\n".join(lines)


def to_csv(rep):
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["path", "bytes", "arena_head", "arena_tail", "arena_recorded", "arena_smallest", "top1", "top5",
                "samples", "reference_top1", "agreement"])
    for r in rep["models"]:
        a, acc = r["arena"], r.get("accuracy") or {}
        ref = acc.get("reference") or {}
        w.writerow([r["path"], r["bytes"], a["head"], a["tail"], a["recorded"], a["smallest"], acc.get("top1"),
                    acc.get("top5"), acc.get("samples"), ref.get("top1"), ref.get("agreement")])
    return buf.getvalue()
