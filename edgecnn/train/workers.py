"""`edgecnn train RECIPE --workers N`: N local worker processes on loopback, each with its TF_CONFIG,
training under MultiWorkerMirroredStrategy; for testing a cluster on one machine, or one big machine.

A cluster does not survive a lost worker: the others wait on it in their collective ops. So when a
worker exits with an error or is killed, the launcher stops the rest and starts the cluster again;
BackupAndRestore brings every worker back to the last finished epoch, so the run ends with the recipe's
epoch count and trains no epoch twice. build/<r>/workers.json names the running workers' process ids.
"""

import json
import os
import socket
import subprocess
import sys
import time

from edgecnn.artifacts import atomic_write
from edgecnn.errors import UserError


def check_ports(ports):
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            # as gRPC binds: a port left in TIME_WAIT by a finished run is free, one with a listener is not
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("localhost", port))
            except OSError:
                raise UserError(f"port {port} on localhost is already in use; give --port a first port with "
                                f"{len(ports)} free ones from it.") from None


def tf_config(ports, index):
    return json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def _start(recipe_path, ports, status_path, attempt):
    procs = [subprocess.Popen([sys.executable, "-m", "edgecnn", "train", str(recipe_path), "--strategy", "multi-worker"],
                              env={**os.environ, "TF_CONFIG": tf_config(ports, i)}) for i in range(len(ports))]
    status_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(status_path, (json.dumps({"attempt": attempt, "pids": [p.pid for p in procs],
                                           "workers": [f"localhost:{p}" for p in ports]}) + "\n").encode())
    return procs


def _stop(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def launch(recipe_path, build_dir, workers, first_port, restarts=3):
    """Run the cluster to completion, restarting it after a lost worker at most `restarts` times."""
    ports = list(range(first_port, first_port + workers))
    check_ports(ports)
    status_path = build_dir / "workers.json"
    for attempt in range(restarts + 1):
        procs = _start(recipe_path, ports, status_path, attempt)
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
            while any(p.poll() is None for p in procs) and all(p.returncode in (None, 0) for p in procs):
                time.sleep(0.5)
        except KeyboardInterrupt:
            _stop(procs)
            raise
        failed = [(i, p.returncode) for i, p in enumerate(procs) if p.returncode not in (None, 0)]
        if not failed:
            status_path.unlink(missing_ok=True)
            return attempt
        _stop(procs)
        if attempt == restarts:
            break
        index, code = failed[0]
        print(f"edgecnn: worker {index} exited with status {code}; restarting the {workers} workers from the last "
              f"finished epoch ({attempt + 1} of {restarts} restarts)", file=sys.stderr, flush=True)
    raise UserError(f"the {workers} workers failed {restarts + 1} times (last: worker {index}, status {code}); "
                    f"see their output above.")
