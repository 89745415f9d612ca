"""`edgecnn-bench MODEL... --remote [user@]host[:port]`: the benchmark run on another machine over SSH.

The system's OpenSSH client (`ssh`) carries everything: it reads the user's ~/.ssh/config (aliases, keys,
ProxyJump), agent and known hosts as every other tool of theirs does, needs nothing from PyPI, and works with
any board that runs sshd. (A Python SSH library would need its own key and config handling, and scp's SFTP mode
is missing on small boards' servers: files go as a tar stream through ssh's stdin instead.)

1. probe: the host's Python, machine, CPU, TFLite runtimes, and which of our files its cache already holds;
2. send: what is missing (edgecnn/bench, each model, --data), keyed by content under a cache folder on the host
   (default ~/.cache/edgecnn-bench), so each goes once;
3. run: the host's Python runs edgecnn-bench there with the same options; its JSON comes back and is printed
   and written here as a local run's is, headed with the host.
"""

import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
from dataclasses import dataclass

from edgecnn.bench import remote_host
from edgecnn.bench.model_file import check_tflite

CACHE = "~/.cache/edgecnn-bench"
HERE = os.path.dirname(os.path.abspath(__file__))


class RemoteError(RuntimeError):
    pass


@dataclass
class Host:
    target: str                 # [user@]host, as ssh takes it
    port: str = None
    config: str = None          # ssh -F
    python: str = "python3"
    cache: str = CACHE

    @classmethod
    def parse(cls, spec, **kwargs):
        match = re.fullmatch(r"((?:[^@\s/]+@)?(?:\[[0-9A-Fa-f:]+\]|[^@:\s/\[\]]+))(?::(\d+))?", spec or "")
        if not match:
            raise RemoteError(f"--remote '{spec}' is not [user@]host[:port]; give e.g. pi@raspberrypi.local or "
                              f"me@10.0.0.7:2222.")
        target, port = match.groups()
        return cls(target.replace("[", "").replace("]", ""), port, **kwargs)

    def __str__(self):
        return self.target + (f":{self.port}" if self.port else "")

    def ssh(self, *argv, stdin=None):
        """`python3 -c remote_host.py ARGV` on the host; the CompletedProcess (bytes)."""
        command = " ".join(shlex.quote(a) for a in (self.python, "-c", _host_source(), *argv))
        options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "ServerAliveInterval=15",
                   "-o", "ServerAliveCountMax=4"]
        options += ["-F", self.config] if self.config else []
        options += ["-p", self.port] if self.port else []
        try:
            return subprocess.run(["ssh", *options, self.target, command], input=stdin, capture_output=True)
        except FileNotFoundError:
            raise RemoteError("--remote needs the OpenSSH client (ssh): install it ('sudo apt-get install "
                              "openssh-client', or your system's package).") from None


def _host_source():
    with open(os.path.join(HERE, "remote_host.py")) as f:
        return f.read()


def _last(stderr):
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines()
             if ln.strip() and not ln.startswith(("Warning: Permanently added", "Error in cpuinfo"))]
    return lines[-1] if lines else "no message"


def _digest(paths, names=None):
    """A short content key: each file's name (`names`, else its base name) and bytes."""
    h = hashlib.sha256()
    for path, name in zip(paths, names or [os.path.basename(p) for p in paths]):
        h.update(name.encode() + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:20]


def _bench_sources():
    """edgecnn/__init__.py and edgecnn/bench/*.py: what a device needs, as (path in the package, local path)."""
    package = os.path.dirname(HERE)
    files = [("edgecnn/__init__.py", os.path.join(package, "__init__.py"))]
    files += [(f"edgecnn/bench/{n}", os.path.join(HERE, n)) for n in sorted(os.listdir(HERE)) if n.endswith(".py")]
    return files


def _entries(models, data):
    """key -> [(name under the key, local path)]: the code, each model and the data set, keyed by content."""
    code = _bench_sources()
    entries = {f"code/{_digest([p for _, p in code])}": code}
    for path in models:
        entries[f"files/{_digest([path])}"] = [(os.path.basename(path), path)]
    if data and os.path.isdir(data):
        inside = sorted(os.path.join(d, n) for d, _, names in os.walk(data) for n in names)
        key = f"data/{_digest(inside, [os.path.relpath(p, data) for p in inside])}"
        entries[key] = [(os.path.join(os.path.basename(os.path.normpath(data)), os.path.relpath(p, data)), p)
                        for p in inside]
    elif data:
        entries[f"data/{_digest([data])}"] = [(os.path.basename(data), data)]
    return entries


def _tar(entries):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for key, files in entries.items():
            for name, path in files:
                tar.add(path, arcname=f"{key}/{name}", recursive=False)
            marker = tarfile.TarInfo(f"{key}/.complete")
            tar.addfile(marker, io.BytesIO(b""))
    return out.getvalue()


def pip_command(info):
    """The install line for a TFLite runtime on the host's architecture and Python."""
    machine, python = info.get("machine", ""), tuple(int(p) for p in info.get("python", "0.0").split(".")[:2])
    if machine in ("x86_64", "AMD64", "aarch64", "arm64") and python >= (3, 9):
        return f"{info.get('executable') or 'python3'} -m pip install ai-edge-litert"
    if machine in ("x86_64", "aarch64") and python <= (3, 11):
        return f"{info.get('executable') or 'python3'} -m pip install 'numpy<2' tflite-runtime==2.14.0"
    return (f"no runtime wheel on PyPI fits {machine} with Python {info.get('python')}: build tflite-runtime from "
            f"TensorFlow's tensorflow/lite/tools/pip_package for it, or use a 64-bit OS")


def probe(host, keys):
    proc = host.ssh("probe", host.cache, *keys)
    if proc.returncode == 255:
        raise RemoteError(f"cannot reach {host} over ssh: {_last(proc.stderr)}")
    if proc.returncode == 127 or (proc.returncode and b"not found" in proc.stderr):
        raise RemoteError(f"{host} has no {host.python} ({_last(proc.stderr)}); install Python 3 there, or name its "
                          f"interpreter with --remote-python.")
    if proc.returncode:
        raise RemoteError(f"{host}'s {host.python} cannot run the bench's probe (Python 3.8 or newer is needed): "
                          f"{_last(proc.stderr)}")
    info = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    where = f"{host} ({info['machine']}, Python {info['python']})"
    if not info["runtimes"]:
        raise RemoteError(f"{where} has no TFLite runtime: run '{pip_command(info)}' there.")
    if not info["numpy"]:
        raise RemoteError(f"{where} has no numpy: run '{info['executable']} -m pip install numpy' there.")
    return info


def _forwarded(args, models, data):
    """edgecnn-bench's options for the host, the paths made the cache's."""
    argv = [*models]
    argv += ["--data", data] if data else []
    argv += ["--fit", args.fit, "--threads", ",".join(map(str, args.threads)), "--runs", str(args.runs),
             "--warmup", str(args.warmup), "--runtime", args.runtime]
    argv += ["--samples", str(args.samples)] if args.samples else []
    argv += ["--no-xnnpack"] if args.no_xnnpack else []
    argv += ["--accelerator", args.accelerator] if args.accelerator else []
    argv += ["--overhead"] if args.overhead else []
    for flag, values in (("--input-shape", [(n, ",".join(map(str, s))) for n, s in args.input_shape]),
                         ("--index-range", [(n, str(v)) for n, v in args.index_range])):
        argv += [a for name, value in values for a in (flag, f"{name}={value}" if name else value)]
    return argv


def run(args, say=lambda line: print(line, file=sys.stderr)):
    """The bench's report, measured on args.remote: paths, data and the host put back as this machine names them."""
    host = Host.parse(args.remote, config=args.ssh_config or os.environ.get("EDGECNN_SSH_CONFIG"),
                      python=args.remote_python or "python3",
                      cache=args.remote_cache or CACHE)
    for path in args.models:
        check_tflite(path)
    if args.data and not os.path.exists(args.data):
        raise RemoteError(f"--data {args.data} does not exist; give an .npz with x and y, or a folder of class folders.")
    entries = _entries(args.models, args.data)
    keys = [f"{key}/.complete" for key in entries]
    info = probe(host, keys)
    missing = {key: files for key, files in entries.items() if f"{key}/.complete" not in info["have"]}
    if missing:
        size = sum(os.path.getsize(p) for files in missing.values() for _, p in files)
        say(f"edgecnn-bench: copying {len(missing)} of {len(entries)} items ({size / 2**20:.1f} MB) to {host}:"
            f"{info['cache']}")
        proc = host.ssh("receive", host.cache, stdin=_tar(missing))
        if proc.returncode:
            raise RemoteError(f"copying to {host} failed: {_last(proc.stderr)}; nothing was left half-written there, "
                              f"run the same command again.")
    key_of = {path: key for key, files in entries.items() for _, path in files}
    remote_models = [f"{key_of[p]}/{os.path.basename(p)}" for p in args.models]
    remote_data = None
    if args.data:
        key = next(k for k in entries if k.startswith("data/"))
        remote_data = f"{key}/{os.path.basename(os.path.normpath(args.data))}"
    code = next(k for k in entries if k.startswith("code/"))
    say(f"edgecnn-bench: measuring on {host} ({info['cpu']}, {info['machine']}, Python {info['python']})")
    proc = host.ssh("run", host.cache, code, *_forwarded(args, remote_models, remote_data))
    back = dict(zip(remote_models, args.models))
    if remote_data:
        back[remote_data] = args.data
    if proc.returncode == 255:
        raise RemoteError(f"the connection to {host} dropped during the run ({_last(proc.stderr)}); nothing was "
                          f"written here, and the files copied stay in its cache, so a rerun only measures.")
    if proc.returncode:
        line = _last(proc.stderr)
        for theirs, ours in back.items():
            line = line.replace(theirs, ours)
        line = re.sub(r"^edgecnn-bench: (error: )?", "", line)
        raise RemoteError(f"on {host}: {line}")
    report = json.loads(proc.stdout.decode())
    for model in report["models"]:
        model["path"] = back.get(model["path"], model["path"])
    for row in report.get("overhead", []):
        row["path"] = back.get(row["path"], row["path"])
    report["data"] = args.data
    report["remote"] = {"host": str(host), "cpu": info["cpu"], "machine": info["machine"], "cpus": info["cpus"],
                        "python": info["python"], "system": info["system"], "numpy": info["numpy"]}
    return report
