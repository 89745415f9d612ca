"""Training with tf_keras `fit` under a tf.distribute strategy, resumable after Ctrl-C or kill.

Resuming is Keras' own BackupAndRestore: the weights, the optimizer and the epoch counter are saved
under build/<recipe>/checkpoints/ at every epoch end; a rerun continues from there. history.json keeps
one row per finished epoch across interruptions, so a rerun that trained an epoch twice would show it.
"""

import json
import os
import sys
import time

from edgecnn.artifacts import atomic_path, atomic_write, record
from edgecnn.data.datasets import load_splits
from edgecnn.data.pipeline import make_dataset
from edgecnn.tf import keras, tf
from edgecnn.zoo import build_model


def pick_strategy():
    """One GPU: that GPU; several: MirroredStrategy over all; none: the default (CPU) strategy."""
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if len(gpus) == 1:
        return tf.distribute.OneDeviceStrategy(gpus[0].name)
    return tf.distribute.get_strategy()


def make_optimizer(cfg, steps_per_epoch):
    lr = cfg["learning_rate"]
    if cfg["schedule"] == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=cfg["epochs"] * steps_per_epoch)
    if cfg["optimizer"] == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)
    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[cfg["optimizer"]](lr)


class EpochLog(keras.callbacks.Callback):
    """Appends each finished epoch to a JSON file at once, so the log survives a kill.

    On resume the log is cut back to the epoch BackupAndRestore restored: a row whose checkpoint never
    landed (killed in between) belongs to work that was lost, and that epoch is trained again, once.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.run = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.started = False

    def rows(self):
        return json.loads(self.path.read_text()) if self.path.is_file() else []

    def on_epoch_begin(self, epoch, logs=None):
        if not self.started:
            self.started = True
            rows = self.rows()
            if len(rows) > epoch:
                atomic_write(self.path, json.dumps(rows[:epoch], indent=1).encode())

    def on_epoch_end(self, epoch, logs=None):
        rows = self.rows() + [{"epoch": epoch + 1, "run": self.run, "pid": os.getpid(),
                               **{k: float(v) for k, v in (logs or {}).items()}}]
        atomic_write(self.path, json.dumps(rows, indent=1).encode())


def train(recipe, verbose=None):
    cfg = recipe["train"]
    out = recipe.build_dir
    keras.utils.set_random_seed(cfg["seed"])
    data = load_splits(recipe["dataset"], cfg["seed"])
    steps = -(-len(data.x_train) // cfg["batch_size"])

    strategy = pick_strategy()
    with strategy.scope():
        model = build_model(recipe["model"]["name"], recipe["dataset"]["input_shape"], data.classes,
                            recipe["model"]["options"])
        heads = len(model.outputs)      # > 1: training-only auxiliary classifiers (GoogLeNet), weighted 0.3
        model.compile(optimizer=make_optimizer(cfg, steps),
                      loss=keras.losses.SparseCategoricalCrossentropy(),
                      loss_weights=[1.0] + [0.3] * (heads - 1) if heads > 1 else None,
                      metrics=["accuracy"])
    train_ds = make_dataset(data.x_train, data.y_train, cfg["batch_size"], True, cfg["augmentation"], cfg["seed"],
                            heads)
    val_ds = make_dataset(data.x_val, data.y_val, 512, False, outputs=heads)
    backup = out / "checkpoints"
    log = EpochLog(backup / "history.json")
    # The log goes first: a kill before the checkpoint lands is undone on resume (EpochLog cuts it back).
    callbacks = [log, keras.callbacks.BackupAndRestore(str(backup))]
    print(f"training {model.name}: {model.count_params():,} parameters, {len(data.x_train):,} images, "
          f"{cfg['epochs']} epochs on {strategy.num_replicas_in_sync} replica(s) "
          f"({'GPU' if tf.config.list_logical_devices('GPU') else 'CPU'})", flush=True)
    model.fit(train_ds, validation_data=val_ds, epochs=cfg["epochs"], callbacks=callbacks,
              verbose=(1 if sys.stdout.isatty() else 2) if verbose is None else verbose)

    history = log.rows()
    with atomic_path(out / "model.keras") as tmp:
        model.save(tmp)
    atomic_write(out / "history.json", (json.dumps(history, indent=1) + "\n").encode())
    atomic_write(out / "labels.txt", ("\n".join(data.class_names) + "\n").encode())
    for name in ("model.keras", "history.json", "labels.txt"):
        record(recipe, out / name, "train")
    (backup / "history.json").unlink(missing_ok=True)   # BackupAndRestore removed its own files already
    return model, history


def load_trained(path):
    """Load a model.keras written by `train`; safe_mode refuses files that would run Python code."""
    return keras.models.load_model(path, compile=False, safe_mode=True)
