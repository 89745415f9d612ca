"""Which devices train, through TensorFlow's own distributed runtime: the strategy a recipe names, the
batch and learning rate scaled for it, and mixed precision and XLA where a GPU is there to use them.

  auto          one GPU: that GPU; several: MirroredStrategy over all; none: the CPU
  mirrored      MirroredStrategy over every visible GPU (with none, over the logical CPUs)
  multi-worker  MultiWorkerMirroredStrategy; the cluster and this process's place in it come from
                TF_CONFIG (`edgecnn train --workers N` writes one per local worker)

EDGECNN_LOGICAL_CPUS=N splits the CPU into N logical devices before TensorFlow starts, so `mirrored` can
be tried (and tested) on a machine without GPUs.
"""

import json
import os
import sys

from edgecnn.errors import UserError

STRATEGIES = ("auto", "mirrored", "multi-worker")


def parse_tf_config(text):
    """TF_CONFIG's cluster and task, checked: valid JSON, a worker list, a task inside it."""
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos}); it must look like "
                        f'{{"cluster": {{"worker": ["host:port", ...]}}, "task": {{"type": "worker", "index": 0}}}}.')
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise UserError("TF_CONFIG needs a 'cluster' mapping of task types to host:port lists and a 'task' "
                        "with 'type' and 'index'.")
    kind, index = task.get("type"), task.get("index")
    members = cluster.get(kind)
    if not isinstance(members, list) or not members:
        raise UserError(f"TF_CONFIG's task type '{kind}' has no list in its cluster "
                        f"(types there: {', '.join(cluster) or 'none'}).")
    if not isinstance(index, int) or not 0 <= index < len(members):
        raise UserError(f"TF_CONFIG's task index {index!r} is out of range: the cluster has {len(members)} "
                        f"{kind}(s), so the index is 0 to {len(members) - 1}.")
    return config


def split_cpu():
    """Apply EDGECNN_LOGICAL_CPUS (before any TensorFlow op runs)."""
    count = os.environ.get("EDGECNN_LOGICAL_CPUS")
    if not count:
        return
    from edgecnn.tf import tf

    if not count.isdigit() or int(count) < 1:
        raise UserError(f"EDGECNN_LOGICAL_CPUS must be a whole number of at least 1, got '{count}'.")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(count))


def make_strategy(name):
    from edgecnn.tf import tf

    if name not in STRATEGIES:
        raise UserError(f"unknown strategy '{name}': choose one of {', '.join(STRATEGIES)}.")
    split_cpu()
    if name == "multi-worker":          # before anything lists devices: collectives configure at startup
        if "TF_CONFIG" not in os.environ:
            raise UserError("strategy multi-worker needs TF_CONFIG (the cluster and this worker's index); set it, "
                            "or run `edgecnn train RECIPE --workers N` to start N local workers.")
        parse_tf_config(os.environ["TF_CONFIG"])
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if len(gpus) == 1:
        return tf.distribute.OneDeviceStrategy(gpus[0].name)
    return tf.distribute.get_strategy()


def scaled(cfg, replicas):
    """(global batch, learning rate): `scaling: linear` multiplies both by the replica count (batch_size
    is then per replica); `none` takes batch_size as the global batch and the rate as written."""
    if cfg["scaling"] == "linear":
        return cfg["batch_size"] * replicas, cfg["learning_rate"] * replicas
    return cfg["batch_size"], cfg["learning_rate"]


def gpu_options(cfg):
    """(mixed precision on, XLA on): each only where a GPU is visible; asked for without one, a warning
    (once per option) and float32 / no XLA."""
    from edgecnn.tf import tf

    has_gpu = bool(tf.config.list_logical_devices("GPU"))
    for key, what in (("mixed_precision", "mixed_float16"), ("xla", "XLA compilation")):
        if cfg[key] and not has_gpu:
            print(f"edgecnn: warning: train.{key} asks for {what}, but no GPU is visible; training without it.",
                  file=sys.stderr, flush=True)
    return cfg["mixed_precision"] and has_gpu, cfg["xla"] and has_gpu


def worker_count(strategy):
    """How many processes train together: the chief and workers of a cluster's spec, else 1."""
    resolver = strategy.cluster_resolver
    if resolver is None:
        return 1
    spec = resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in ("chief", "worker") if job in spec.jobs) or 1


def is_chief(strategy):
    """Whether this process writes the artifacts: always, except a non-chief worker of a cluster."""
    return bool(getattr(strategy.extended, "should_checkpoint", True))
