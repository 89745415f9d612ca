"""Every file loaded and run once in a child process before the benchmark's own process loads it.

The verifier (verify.py) refuses files whose structure is damaged; a file can still pass it and crash a
runtime: a quantization scale changed to an absurd value made LiteRT 2.3 abort with "double free or
corruption" where tflite-runtime 2.14 refused the file. Such a crash ends only the child here, and the
parent names the file in one sentence. The child's address space is capped at the machine's memory, so
a file that asks for more fails in the child instead of waking the kernel's OOM killer.

The child is edgecnn/bench/guard_child.py (it loads files with measure.Loaded, which calls check() here).
"""

import json
import os
import resource
import signal
import subprocess
import sys

from edgecnn.bench.model_file import ModelFileError


def _memory_cap():
    """The child's soft address-space limit: the machine's memory, or the limit it inherits if lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        caps = [c for c in (total, soft, hard) if c != resource.RLIM_INFINITY]
        resource.setrlimit(resource.RLIMIT_AS, (min(caps), hard))
    except (ValueError, OSError):
        pass


def check(paths, runtime, threads, xnnpack=True, index_ranges=None):
    """ModelFileError naming the first of `paths` that kills `runtime` when loaded and run once."""
    ranges = json.dumps([[name, high] for name, high in (index_ranges or {}).items()])
    proc = subprocess.run([sys.executable, "-m", "edgecnn.bench.guard_child", runtime.name, str(threads), str(int(xnnpack)),
                           ranges, *map(str, paths)], capture_output=True, text=True, preexec_fn=_memory_cap,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "EDGECNN_RUNTIME_LOG": "1"})
    if proc.returncode == 0:
        return
    ran = {line[4:] for line in proc.stdout.splitlines() if line.startswith("ran ")}
    culprit = next((str(p) for p in paths if str(p) not in ran), str(paths[-1]))
    how = (f"was killed by {signal.Signals(-proc.returncode).name}" if proc.returncode < 0 and
           -proc.returncode in signal.valid_signals() else f"exited with status {proc.returncode}")
    last = next((ln for ln in reversed(proc.stderr.splitlines()) if ln.strip() and not ln.startswith("INFO:")), "")
    said = f" (its last words: {last.strip()[:160]})" if last else ""
    raise ModelFileError(f"{culprit}: {runtime.name} {runtime.version} {how} loading and running it once{said}; the "
                         f"file is damaged in a way its structure does not show, or hits a bug of that runtime: "
                         f"convert it again, or try the other runtime (--runtime).")
