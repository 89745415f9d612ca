"""edgecnn-bench --remote against a real SSH server on 127.0.0.1: Debian's sshd started here with its own host key,
port and authorized key, and a "board" that is another Python: the device env (numpy<2 + tflite-runtime 2.14, no
TensorFlow), and, where the ARM root is there, the emulated aarch64 Python."""

import getpass
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time

import pytest
import yaml

from conftest import ROOT, copy_of, installed, make, rewrite, run_cli

DEVICE_PY = ROOT / ".device-venv" / "bin" / "python"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """An sshd on a free port of 127.0.0.1 for this module, stopped after it; an ssh config naming it 'board'."""
    installed("ssh-server", "OpenSSH's server")
    installed(".device-venv/.installed", "the device env (numpy<2 + tflite-runtime 2.14)")
    d = tmp_path_factory.mktemp("ssh")
    _keygen(d / "host_key")
    _keygen(d / "user_key")
    _keygen(d / "other_key")
    shutil.copy(d / "user_key.pub", d / "authorized_keys")
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n"
        f"AuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        f"KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n")
    os.makedirs("/run/sshd", exist_ok=True)             # sshd's privilege separation folder
    server = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")],
                              stderr=open(d / "sshd.log", "w"))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert server.poll() is None, (d / "sshd.log").read_text()
            time.sleep(0.1)

    def config(key):
        path = d / f"config_{key}"
        path.write_text(f"Host board\n  HostName 127.0.0.1\n  Port {port}\n  User {getpass.getuser()}\n"
                        f"  IdentityFile {d}/{key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n"
                        f"  StrictHostKeyChecking accept-new\n  LogLevel ERROR\n")
        return path

    yield {"config": config("user_key"), "stranger": config("other_key"), "port": port, "dir": d}
    server.terminate()
    server.wait(timeout=10)


def bench(board, *args, python=DEVICE_PY, cache=None, config=None):
    return run_cli(*args, "--remote", "board", "--ssh-config", config or board["config"], "--remote-python", python,
                   "--remote-cache", cache or board["dir"] / "cache", module="edgecnn.bench", timeout=600)


def test_a_remote_run_equals_a_local_run_on_the_same_runtime_and_names_the_host(board, tiny_build, tmp_path):
    out = tiny_build / "build" / "tiny"
    files, data = [out / "fp32.tflite", out / "int8.tflite"], out / "testset.npz"
    # one thread: tflite-runtime 2.14 ran this int8 file 8x slower on 2 threads than on 1 here (8.0 vs 1.0 ms)
    options = ["--data", data, "--samples", "200", "--runs", "5", "--warmup", "1", "--threads", "1"]
    local = subprocess.run([DEVICE_PY, "-m", "edgecnn.bench", *files, *options, "--json", tmp_path / "local.json"],
                           cwd=tmp_path, capture_output=True, text=True)
    assert local.returncode == 0, local.stderr
    first = bench(board, *files, *options, "--json", tmp_path / "remote.json", "--csv", tmp_path / "remote.csv",
                  cache=tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    assert "copying 4 of 4 items" in first.stderr             # the bench's code, two files, the data
    ours, theirs = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("local", "remote"))
    assert theirs["runtime"]["name"] == "tflite-runtime" and theirs["runtime"]["version"] == "2.14.0"
    assert theirs["runtime"] == ours["runtime"]
    for a, b in zip(ours["models"], theirs["models"]):
        assert a["path"] == b["path"] and a["accuracy"] == b["accuracy"]      # per class and confusion too
    from edgecnn.bench.remote_host import cpu_model

    assert theirs["remote"]["cpu"] == cpu_model() and theirs["remote"]["machine"] == os.uname().machine
    assert theirs["data"] == str(data)
    lines = first.stdout.splitlines()
    assert lines[0] == (f"measured on board over ssh: {cpu_model()}, {os.uname().machine}, {os.cpu_count()} CPUs, "
                        f"Python {theirs['remote']['python']}, numpy {theirs['remote']['numpy']}")
    assert lines[1].startswith("runtime tflite-runtime 2.14.0") and "fp32.tflite" in lines[2]
    assert (tmp_path / "remote.csv").read_text().count("tflite-runtime 2.14.0") == 2
    again = bench(board, *files, *options, cache=tmp_path / "cache")        # all there: nothing copied
    assert again.returncode == 0 and "copying" not in again.stderr, again.stderr


def _said(proc):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    return lines[-1]


def test_bad_hosts_get_one_sentence_and_nothing_is_written(board, tiny_build, tmp_path):
    int8 = tiny_build / "build" / "tiny" / "int8.tflite"
    kept = tmp_path / "kept.json"
    kept.write_text("an earlier report\n")
    unreachable = run_cli(int8, "--remote", "127.0.0.1:1", "--json", kept, module="edgecnn.bench")
    assert _said(unreachable) == ("edgecnn-bench: error: cannot reach 127.0.0.1:1 over ssh: ssh: connect to host "
                                  "127.0.0.1 port 1: Connection refused")
    refused = bench(board, int8, "--json", kept, config=board["stranger"])
    assert _said(refused).startswith("edgecnn-bench: error: cannot reach board over ssh: ") and \
        _said(refused).endswith("Permission denied (publickey).")
    no_python = bench(board, int8, python="/opt/no/python3")
    assert _said(no_python).startswith("edgecnn-bench: error: board has no /opt/no/python3 (")
    assert _said(no_python).endswith("); install Python 3 there, or name its interpreter with --remote-python.")
    bare = tmp_path / "bare"                           # a Python 3 with neither numpy nor a TFLite runtime
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", bare], check=True)
    no_runtime = bench(board, int8, python=bare / "bin" / "python")
    assert _said(no_runtime) == (f"edgecnn-bench: error: board ({os.uname().machine}, Python "
                                 f"{'.'.join(map(str, sys.version_info[:2]))}.{sys.version_info[2]}) has no TFLite "
                                 f"runtime: run '{bare}/bin/python -m pip install ai-edge-litert' there.")
    assert kept.read_text() == "an earlier report\n"


def test_a_file_the_hosts_runtime_cannot_load_gets_the_runtimes_line(board, tiny_build, tmp_path):
    def newer(model):                                  # an op version tflite-runtime 2.14 does not have
        for code in model.operatorCodes:
            code.version = 99

    int8 = tmp_path / "int8.tflite"
    int8.write_bytes(rewrite((tiny_build / "build" / "tiny" / "int8.tflite").read_bytes(), newer))
    proc = bench(board, int8)
    said = _said(proc)
    assert said.startswith(f"edgecnn-bench: error: on board: {int8} uses ") and " version 99, which " \
        "tflite-runtime 2.14.0 does not have" in said, said


def test_a_dropped_connection_keeps_what_was_copied_and_writes_nothing(board, tiny_build, tmp_path):
    """The host's Python dies with its ssh session once the run starts (kills sshd's process for it)."""
    dying = tmp_path / "python"
    dying.write_text("#!/bin/sh\n"                      # argv: -c SOURCE COMMAND ...; sshd's process for the session
                     "if [ \"$3\" = run ]; then p=$PPID\n"
                     "  while [ \"$(ps -o comm= -p $p)\" != sshd ]; do p=$(ps -o ppid= -p $p | tr -d ' '); done\n"
                     "  kill -9 $p\nfi\n"
                     f"exec {DEVICE_PY} \"$@\"\n")
    dying.chmod(dying.stat().st_mode | stat.S_IEXEC)
    int8, kept = tiny_build / "build" / "tiny" / "int8.tflite", tmp_path / "kept.json"
    kept.write_text("an earlier report\n")
    proc = bench(board, int8, "--json", kept, python=dying, cache=tmp_path / "cache")
    assert _said(proc).startswith("edgecnn-bench: error: the connection to board dropped during the run ("), proc.stderr
    assert _said(proc).endswith("nothing was written here, and the files copied stay in its cache, so a rerun only "
                                "measures.")
    assert kept.read_text() == "an earlier report\n"
    again = bench(board, int8, "--runs", "3", "--json", kept, cache=tmp_path / "cache")
    assert again.returncode == 0 and "copying" not in again.stderr, again.stderr
    assert json.loads(kept.read_text())["models"][0]["path"] == str(int8)


def test_optimize_chooses_by_the_boards_latency(board, tiny_build, tmp_path):
    """bench.remote in the recipe: optimize measures its candidates on the host and says so."""
    from conftest import TINY

    workspace = copy_of(tiny_build, tmp_path / "w")
    recipe = {**TINY, "optimize": {"candidates": ["fp32", "int8"]},
              "bench": {**TINY.get("bench", {}), "remote": "board", "remote_python": str(DEVICE_PY)}}
    time.sleep(1.1)
    (workspace / "recipes" / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    proc = make(workspace, "build/tiny/best.tflite", env={"EDGECNN_SSH_CONFIG": str(board["config"])})
    text = (workspace / "build" / "tiny" / "optimize.md").read_text()
    assert "Measured on board over ssh: " in text and "tflite-runtime 2.14.0" in text, text
    measured = json.loads((workspace / "build" / "tiny" / "optimize_bench.json").read_text())
    assert measured["remote"]["host"] == "board" and measured["runtime"]["name"] == "tflite-runtime"
    assert "train" not in proc.stdout
