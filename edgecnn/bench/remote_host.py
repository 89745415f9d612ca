"""The host's side of `edgecnn-bench --remote`: sent as the source of `python3 -c` over SSH, so it uses the
standard library only and works before anything of ours is on the host.

    probe CACHE KEY...        what the host is (Python, machine, CPU, TFLite runtimes, numpy) and which KEYs
                              (paths under CACHE) it already holds, as one JSON line
    receive CACHE             a tar stream on stdin unpacked under CACHE: all of it into a temporary folder
                              first, then each file renamed into place, so a dropped connection leaves no
                              half-written file
    run CACHE CODE ARGS...    edgecnn-bench from CACHE/CODE with ARGS (paths relative to CACHE); its JSON on stdout

The local bench imports cpu_model() from here too, so a table names the CPU the same way on both sides.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile

# name -> (module, distribution), in the order the bench picks them (edgecnn/bench/runtime.py)
RUNTIMES = (("litert", "ai_edge_litert", "ai-edge-litert"), ("tflite-runtime", "tflite_runtime", "tflite-runtime"),
            ("tensorflow", "tensorflow", "tensorflow"))


def cpu_model():
    """The CPU's name as /proc/cpuinfo gives it (x86 'model name'; a Pi's 'Model'; other ARM boards 'Hardware'),
    else what platform knows; 'unknown' where nothing says (an emulator without /proc)."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    for key in ("model name", "Model", "Hardware", "cpu model", "uarch"):
        if fields.get(key):
            return fields[key]
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True).stdout.strip() or platform.processor() or "unknown"
        except OSError:
            pass
    return platform.processor() or "unknown"


def _version(module, dist):
    import importlib.util

    try:
        if importlib.util.find_spec(module) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        from importlib import metadata

        return metadata.version(dist)
    except Exception:                                   # noqa: BLE001 - found but unversioned: still usable
        return "?"


def probe(cache, keys):
    cache = os.path.expanduser(cache)
    runtimes = {name: _version(module, dist) for name, module, dist in RUNTIMES}
    print(json.dumps({
        "python": platform.python_version(), "executable": sys.executable, "machine": platform.machine(),
        "system": platform.platform(), "cpu": cpu_model(), "cpus": os.cpu_count(), "cache": cache,
        "numpy": _version("numpy", "numpy"), "runtimes": {k: v for k, v in runtimes.items() if v},
        "have": [key for key in keys if os.path.exists(os.path.join(cache, key))]}))


def receive(cache):
    cache = os.path.expanduser(cache)
    os.makedirs(cache, exist_ok=True)
    incoming = tempfile.mkdtemp(prefix=".incoming-", dir=cache)
    try:
        with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as tar:
            for member in tar:
                if not member.isfile() or member.name.startswith(("/", "..")) or "/../" in member.name:
                    continue
                target = os.path.join(incoming, member.name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        names = sorted(os.path.relpath(os.path.join(folder, name), incoming)
                       for folder, _, files in os.walk(incoming) for name in files)
        # the markers (a key's "complete" file) last, so a key is there only when all of it is
        for name in sorted(names, key=lambda n: os.path.basename(n) == ".complete"):
            os.makedirs(os.path.dirname(os.path.join(cache, name)), exist_ok=True)
            os.replace(os.path.join(incoming, name), os.path.join(cache, name))
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def run(cache, code, argv):
    cache = os.path.expanduser(cache)
    out = tempfile.mkdtemp(prefix=".run-", dir=cache)
    try:
        report = os.path.join(out, "report.json")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.join(cache, code)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        status = subprocess.call([sys.executable, "-m", "edgecnn.bench", *argv, "--json", report, "--quiet"],
                                 cwd=cache, env=env, stdout=sys.stderr)
        if status:
            return status
        with open(report) as f:
            sys.stdout.write(f.read())
        return 0
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main(argv):
    command, cache, rest = argv[0], argv[1], argv[2:]
    if command == "probe":
        return probe(cache, rest)
    if command == "receive":
        return receive(cache)
    if command == "run":
        return run(cache, rest[0], rest[1:])
    raise SystemExit(f"remote_host: unknown command {command}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
