"""Training past one device through tf.distribute: MirroredStrategy over 2 logical CPUs, two workers on
loopback that survive a killed worker, and the bad inputs (TF_CONFIG, strategy, mixed precision, ports)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import yaml

from conftest import last_line, run_cli
from edgecnn import recipe as recipes
from edgecnn.train.distribute import parse_tf_config, scaled
from edgecnn.errors import UserError
from edgecnn.train.workers import check_ports

SMALL = {"model": {"name": "lenet5"}, "dataset": {"train_samples": 4000},   # no augmentation: 2 epochs as set
         "train": {"epochs": 2, "batch_size": 64, "learning_rate": 0.002, "augmentation": []}}


def _recipe(workspace, name, train):
    (workspace / "recipes" / f"{name}.yaml").write_text(yaml.safe_dump({**SMALL, "train": {**SMALL["train"], **train}}))
    return f"recipes/{name}.yaml"


def _history(workspace, name):
    return json.loads((workspace / "build" / name / "history.json").read_text())


def _free_ports(n):
    """A first port with n free ones from it."""
    for first in range(25000, 40000, 97):
        try:
            check_ports(range(first, first + n))
            return first
        except UserError:
            continue
    raise RuntimeError("no free ports")


@pytest.mark.slow
def test_mirrored_over_two_logical_cpus_reaches_the_single_device_floor(workspace):
    one = run_cli("train", _recipe(workspace, "one", {"mixed_precision": True}), cwd=workspace, check=True)
    assert "on 1 replica(s) (CPU)" in one.stdout
    # asked for on a CPU: one warning, then float32 training
    assert one.stderr.count("train.mixed_precision asks for mixed_float16, but no GPU is visible") == 1
    two = run_cli("train", _recipe(workspace, "two", {"strategy": "mirrored"}), cwd=workspace, check=True,
                  env={"EDGECNN_LOGICAL_CPUS": "2"})
    assert "on 2 replica(s) (CPU), global batch 64" in two.stdout
    single, mirrored = _history(workspace, "one")[-1], _history(workspace, "two")[-1]
    # 2 epochs of LeNet-5 on 4,000 real images: both past the same floor, and close to each other
    assert single["val_accuracy"] > 0.72 and mirrored["val_accuracy"] > 0.72, (single, mirrored)
    assert abs(single["val_accuracy"] - mirrored["val_accuracy"]) < 0.03


@pytest.mark.slow
def test_two_workers_on_loopback_survive_a_killed_worker(workspace):
    path = _recipe(workspace, "mw", {"strategy": "multi-worker", "epochs": 3})
    out = workspace / "build" / "mw"
    launcher = subprocess.Popen([sys.executable, "-m", "edgecnn", "train", path, "--workers", "2",
                                 "--port", str(_free_ports(2))], cwd=workspace, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    saved = out / "checkpoints" / "chief" / "checkpoint"          # the first epoch's backup landed
    deadline = time.time() + 300
    while not saved.is_file() and launcher.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    victim = json.loads((out / "workers.json").read_text())["pids"][1]
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = launcher.communicate(timeout=600)
    assert launcher.returncode == 0, stderr[-3000:]
    assert "worker 1 exited with status -9; restarting the 2 workers from the last finished epoch" in stderr
    assert "2 workers trained 3 epochs (1 restart(s))" in stdout
    assert "on 2 replica(s) (CPU, 2 workers)" in stdout                # each shards the data and takes its steps
    history = _history(workspace, "mw")
    assert [row["epoch"] for row in history] == [1, 2, 3]             # none twice, none missing
    assert len({row["pid"] for row in history}) == 2                   # the chief of each run
    assert history[-1]["val_accuracy"] > 0.72 and (out / "model.keras").is_file()


def test_scaling_follows_the_recipe():
    cfg = {"batch_size": 64, "learning_rate": 0.002}
    assert scaled({**cfg, "scaling": "none"}, 4) == (64, 0.002)
    assert scaled({**cfg, "scaling": "linear"}, 4) == (256, 0.008)


def test_bad_tf_config_strategy_and_port(tmp_path):
    with pytest.raises(UserError, match=r"TF_CONFIG is not valid JSON \(Expecting"):
        parse_tf_config("{cluster: ")
    good = {"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 0}}
    assert parse_tf_config(json.dumps(good)) == good
    with pytest.raises(UserError, match=r"task index 2 is out of range: the cluster has 2 worker\(s\), so the index is 0 to 1"):
        parse_tf_config(json.dumps({**good, "task": {"type": "worker", "index": 2}}))
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({**SMALL, "train": {"strategy": "parameter-server"}}))
    with pytest.raises(UserError, match=r"train.strategy: got 'parameter-server', expected one of auto, mirrored, multi-worker"):
        recipes.load(tmp_path / "r.yaml")
    with socket.socket() as taken:
        taken.bind(("localhost", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=rf"port {port} on localhost is already in use; give --port"):
            check_ports([port])


def test_cli_multi_worker_without_tf_config_says_how(workspace):
    proc = run_cli("train", _recipe(workspace, "lone", {"strategy": "multi-worker"}), cwd=workspace,
                   env={"TF_CONFIG": "not json"})
    assert proc.returncode == 2 and last_line(proc.stderr).startswith("edgecnn: error: TF_CONFIG is not valid JSON")
    assert not (workspace / "build" / "lone" / "model.keras").exists()
