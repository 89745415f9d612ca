"""Choosing the variant to ship: the fastest .tflite file within an accuracy budget of the fp32 file.

Every figure comes from one interleaved benchmark run of the files themselves (edgecnn-bench), so the
latencies compare on a noisy machine and the accuracies are the runtime's, not Keras'.
"""

import gzip
import platform
from dataclasses import dataclass

from edgecnn.errors import UserError


@dataclass
class Candidate:
    variant: str
    bytes: int
    gzip_bytes: int
    top1: float
    median_ms: float

    def loss_points(self, reference):
        return 100 * (reference.top1 - self.top1)


def gzip_size(data):
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def candidates_from(report, variants, blobs):
    """Candidates from an edgecnn-bench JSON report whose models are `variants`, in order."""
    out = []
    for variant, model in zip(variants, report["models"]):
        if "accuracy" not in model:
            raise ValueError(f"the benchmark of {variant} has no accuracy; it must run with --data")
        out.append(Candidate(variant, model["bytes"], gzip_size(blobs[variant]), model["accuracy"]["top1"],
                             model["latency_ms"]["median"]))
    return out


def choose(candidates, reference, budget, eligible=None):
    """The fastest candidate losing at most `budget` points of top-1 against `reference` (fp32).

    `eligible` (default: all) names the variants that may win; UserError naming the closest when none
    is within budget.
    """
    pool = [c for c in candidates if eligible is None or c.variant in eligible]
    within = [c for c in pool if c.loss_points(reference) <= budget + 1e-9]
    if not within:
        closest = min(pool, key=lambda c: c.loss_points(reference))
        raise UserError(f"no candidate is within {budget:g} points of fp32's top-1 {100 * reference.top1:.2f} %; "
                        f"the closest is {closest.variant} at {100 * closest.top1:.2f} % "
                        f"({closest.loss_points(reference):.2f} points lower); raise optimize.budget "
                        f"or add fp32 to optimize.candidates.")
    return min(within, key=lambda c: (c.median_ms, c.bytes))


def sparse_kernels_on_this_cpu():
    """(bool, why): XNNPACK runs its sparse (CHW) kernels only on ARM and on x86 without AVX.

    XNNPACK (src/xnnpack/hardware-config.h, xnn_is_chw_compatible_config): "on processors with AVX ISA
    dense inference is expected to be faster than sparse", so on such a CPU a sparse file runs dense.
    """
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64", "i386", "i686"):
        return True, f"{machine} CPU"
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        flags = []
    if "avx" in flags:
        return False, ("this x86 CPU has AVX, and XNNPACK disables its sparse kernels on AVX CPUs "
                       "(dense is faster there); the sparse path runs on ARM phones and boards")
    return True, "x86 CPU without AVX"


def table(candidates, reference, budget, best, not_made=None):
    """Markdown table of all candidates, with ratios to fp32; a row for each that could not be made."""
    lines = ["| variant | size | gzip | size vs fp32 | top-1 | vs fp32 (points) | median ms | latency vs fp32 | |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in candidates:
        loss = c.loss_points(reference)
        mark = "**best**" if c is best else ("within budget" if loss <= budget + 1e-9 else "")
        lines.append(f"| {c.variant} | {c.bytes / 1024:.0f} KB | {c.gzip_bytes / 1024:.0f} KB | "
                     f"{c.bytes / reference.bytes:.2f}x | {100 * c.top1:.2f} % | {-loss:+.2f} | "
                     f"{c.median_ms:.3f} | {c.median_ms / reference.median_ms:.2f}x | {mark} |")
    for variant, why in (not_made or {}).items():
        lines.append(f"| {variant} | | | | | | | | not made: {why.replace('|', '/')} |")
    return "\n".join(lines)
