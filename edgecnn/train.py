"""Training with tf_keras `fit` under a tf.distribute strategy (edgecnn/distribute.py: one device, all
GPUs, or a cluster of workers), resumable after Ctrl-C or kill.

Resuming is Keras' own BackupAndRestore: the weights, the optimizer and the epoch counter are saved
under build/<recipe>/checkpoints/ at every epoch end; a rerun continues from there. history.json keeps
one row per finished epoch across interruptions, so a rerun that trained an epoch twice would show it.
"""

import json
import os
import sys
import time

from edgecnn import distribute
from edgecnn.artifacts import atomic_path, atomic_write, record
from edgecnn.data.datasets import load_splits
from edgecnn.data.pipeline import make_dataset
from edgecnn.tf import keras, tf
from edgecnn.zoo import build_model


def make_optimizer(cfg, steps_per_epoch):
    lr = cfg["learning_rate"]
    if cfg["schedule"] == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=cfg["epochs"] * steps_per_epoch)
    if cfg["optimizer"] == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)
    return {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[cfg["optimizer"]](lr)


def make_loss(smoothing, classes):
    """Cross-entropy on the integer labels the data pipeline yields. `train.label_smoothing` > 0 moves
    that share of each label's mass evenly onto all classes (Szegedy et al. 2016, Inception v3), through
    Keras' own categorical cross-entropy on one-hot labels."""
    if not smoothing:
        return keras.losses.SparseCategoricalCrossentropy()

    def smoothed_crossentropy(y_true, y_pred):
        onehot = tf.one_hot(tf.cast(tf.reshape(y_true, [-1]), tf.int32), classes)
        return keras.losses.categorical_crossentropy(onehot, y_pred, label_smoothing=smoothing)

    return smoothed_crossentropy


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


def _plain_copy(model, recipe, classes):
    """The model rebuilt with the trained weights under the float32 policy, outside any strategy and
    never compiled: what model.keras holds. The weights alone, without the optimizer's slots (Adam's
    two per weight tripled ResNet50's file to 283 MB, which every convert stage reloaded), and float32
    layers after mixed-precision training (the weights are float32 variables either way)."""
    keras.mixed_precision.set_global_policy("float32")
    plain = build_model(recipe["model"]["name"], recipe["dataset"]["input_shape"], classes, recipe["model"]["options"])
    plain.set_weights(model.get_weights())
    return plain


def recalibrate_bn(model, x, batches, batch_size):
    """Re-estimate every BatchNormalization's moving mean and variance as the plain average over `batches`
    training batches, run in training mode with the weights fixed (torch.optim.swa_utils.update_bn does
    the same). After a short training run the moving averages trail the weights: at one epoch of 27,000
    images, MobileNet v1 scored 76 % on its training batches and 10.7 % on test images; 50 batches of
    re-estimation brought it to 85.2 % (2,000 test images), in 21 s on 2 cores."""
    layers = [layer for layer in model.submodules if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers or not batches:
        return 0
    saved = [layer.momentum for layer in layers]
    batches = min(batches, len(x) // batch_size)
    for k in range(batches):
        for layer in layers:
            layer.momentum = k / (k + 1)        # the k-th batch gets weight 1/(k+1): a plain running average
        model(tf.cast(x[k * batch_size:(k + 1) * batch_size], tf.float32), training=True)
    for layer, momentum in zip(layers, saved):
        layer.momentum = momentum
    return batches


def train(recipe, verbose=None, strategy_name=None):
    cfg = recipe["train"]
    out = recipe.build_dir
    strategy = distribute.make_strategy(strategy_name or cfg["strategy"])   # first: a cluster configures at startup
    keras.utils.set_random_seed(cfg["seed"])
    workers = distribute.worker_count(strategy)
    data = load_splits(recipe["dataset"], cfg["seed"])
    batch, lr = distribute.scaled(cfg, strategy.num_replicas_in_sync)
    steps = len(data.x_train) // batch if workers > 1 else -(-len(data.x_train) // batch)
    mixed, xla = distribute.gpu_options(cfg)
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    with strategy.scope():
        model = build_model(recipe["model"]["name"], recipe["dataset"]["input_shape"], data.classes,
                            recipe["model"]["options"])
        heads = len(model.outputs)      # > 1: training-only auxiliary classifiers (GoogLeNet), weighted 0.3
        model.compile(optimizer=make_optimizer({**cfg, "learning_rate": lr}, steps),
                      loss=make_loss(cfg["label_smoothing"], data.classes),
                      loss_weights=[1.0] + [0.3] * (heads - 1) if heads > 1 else None,
                      metrics=["accuracy"], jit_compile=xla or None)
    train_ds = make_dataset(data.x_train, data.y_train, batch, True, cfg["augmentation"], cfg["seed"], heads,
                            shard=workers > 1)
    val_ds = make_dataset(data.x_val, data.y_val, 512, False, outputs=heads, shard=workers > 1)
    backup = out / "checkpoints"
    chief = distribute.is_chief(strategy)
    log = EpochLog(backup / "history.json")
    # The log goes first: a kill before the checkpoint lands is undone on resume (EpochLog cuts it back).
    # In a cluster only the chief keeps it; BackupAndRestore keeps one folder a worker (chief/, workertemp_N/).
    callbacks = ([log] if chief else []) + [keras.callbacks.BackupAndRestore(str(backup))]
    where = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    print(f"training {model.name}: {model.count_params():,} parameters, {len(data.x_train):,} images, "
          f"{cfg['epochs']} epochs on {strategy.num_replicas_in_sync} replica(s) ({where}"
          f"{f', {workers} workers' if workers > 1 else ''}), global batch {batch}, learning rate {lr:g}"
          f"{', mixed_float16' if mixed else ''}{', XLA' if xla else ''}", flush=True)
    model.fit(train_ds, validation_data=val_ds, epochs=cfg["epochs"], callbacks=callbacks,
              verbose=(1 if sys.stdout.isatty() else 2) if verbose is None else verbose)
    model = _plain_copy(model, recipe, data.classes)    # every worker of a cluster reads the weights
    if not chief:
        return model, []                                 # the chief alone re-estimates BN and saves
    if cfg["bn_recalibration"]:
        done = recalibrate_bn(model, data.x_train, cfg["bn_recalibration"], cfg["batch_size"])
        print(f"batch-norm statistics re-estimated over {done} training batches", flush=True)

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
