"""Choosing the variant to ship: the fastest .tflite file within an accuracy budget of the fp32 file.

Every figure comes from one interleaved benchmark run of the files themselves (edgecnn-bench), so the
latencies compare on a noisy machine and the accuracies are the runtime's, not Keras'. "Fastest" accounts for
that machine's noise: the run's timed inferences fall in consecutive rounds, and one file is faster than another
only when its slowest round median is below the other's quickest, so the gap is larger than the spread both
showed in the same run. Among files no other beats, the smallest after gzip wins, then the one made in fewer
steps: a tie in speed is never decided by noise.
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
    rounds: tuple = ()          # the median of each round of the run (consecutive, interleaved across files)

    def loss_points(self, reference):
        return 100 * (reference.top1 - self.top1)

    @property
    def interval(self):
        """(quickest, slowest) round median; the median itself when the run had no rounds."""
        return (min(self.rounds), max(self.rounds)) if self.rounds else (self.median_ms, self.median_ms)

    def beats(self, other):
        """Faster by more than the spread: its slowest round is quicker than the other's quickest."""
        return self.interval[1] < other.interval[0]

    @property
    def steps(self):
        """How many steps made the file from the trained model: each compression, and the conversion."""
        import re

        from edgecnn.variants import STEP, parse_tflite

        source, fmt = parse_tflite(self.variant)
        return len(re.findall(STEP, source.name)) + (fmt != "fp32")


def gzip_size(data):
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def candidates_from(report, variants, blobs):
    """Candidates from an edgecnn-bench JSON report whose models are `variants`, in order."""
    out = []
    for variant, model in zip(variants, report["models"]):
        if "accuracy" not in model:
            raise ValueError(f"the benchmark of {variant} has no accuracy; it must run with --data")
        latency = model["latency_ms"]
        out.append(Candidate(variant, model["bytes"], gzip_size(blobs[variant]), model["accuracy"]["top1"],
                             latency["median"], tuple(latency.get("round_medians", ()))))
    return out


def choose(candidates, reference, budget, eligible=None):
    """(the candidate to ship, why it won): among those losing at most `budget` points of top-1 against
    `reference` (fp32), the ones no other beats (Candidate.beats), then the smallest after gzip, then the one
    made in fewer steps, then the lower median.

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
    fastest = [c for c in within if not any(d.beats(c) for d in within)]
    best = min(fastest, key=lambda c: (c.gzip_bytes, c.steps, c.median_ms))
    return best, _why(best, fastest, within)


def _why(best, fastest, within):
    ms = lambda c: f"{c.interval[0]:.3f}-{c.interval[1]:.3f} ms"
    beaten = [c for c in within if c not in fastest]
    text = (f"no file within the budget is faster than {best.variant} by more than the spread of its rounds "
            f"({best.variant}: {ms(best)})")
    if beaten:
        text += f"; it is faster than {', '.join(c.variant for c in beaten)} in every round"
    ties = [c for c in fastest if c is not best]
    if ties:
        by_size = all(c.gzip_bytes > best.gzip_bytes for c in ties)
        text += (f"; it ties with {', '.join(f'{c.variant} ({ms(c)})' for c in ties)}, and is "
                 + (f"the smallest of them after gzip ({best.gzip_bytes / 1024:.0f} KB)" if by_size else
                    f"as small after gzip and made in fewer steps ({best.steps})"))
    return text + "."


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
    lines = ["| variant | size | gzip | size vs fp32 | top-1 | vs fp32 (points) | median ms | rounds' medians, ms "
             "| latency vs fp32 | |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in candidates:
        loss = c.loss_points(reference)
        mark = "**best**" if c is best else ("within budget" if loss <= budget + 1e-9 else "")
        lines.append(f"| {c.variant} | {c.bytes / 1024:.0f} KB | {c.gzip_bytes / 1024:.0f} KB | "
                     f"{c.bytes / reference.bytes:.2f}x | {100 * c.top1:.2f} % | {-loss:+.2f} | "
                     f"{c.median_ms:.3f} | {c.interval[0]:.3f}-{c.interval[1]:.3f} | "
                     f"{c.median_ms / reference.median_ms:.2f}x | {mark} |")
    for variant, why in (not_made or {}).items():
        lines.append(f"| {variant} | | | | | | | | | not made: {why.replace('|', '/')} |")
    return "\n".join(lines)
