"""Training with tf_keras `fit` under a tf.distribute strategy (edgecnn/train/distribute.py: one device, all
GPUs, or a cluster of workers), resumable after Ctrl-C or kill.

Resuming is Keras' own BackupAndRestore: the weights, the optimizer and the epoch counter are saved
under build/<recipe>/checkpoints/ at every epoch end; a rerun continues from there. history.json keeps
one row per finished epoch across interruptions, so a rerun that trained an epoch twice would show it.
"""

import json
import os
import sys
import time

from edgecnn.artifacts import atomic_path, atomic_write, read_json, record
from edgecnn.bench import chance
from edgecnn.data import balance
from edgecnn.data.datasets import load_splits
from edgecnn.data.pipeline import make_dataset
from edgecnn.tf import keras, tf
from edgecnn.train import distribute, sizing
from edgecnn.data.regularize import is_mixing
from edgecnn.train.options import distill_settings, ema_warning
from edgecnn.zoo import build_model


def make_schedule(cfg, steps_per_epoch):
    """The learning rate: a float (constant) or Keras' CosineDecay, with warm-up when cfg asks for it."""
    lr, warm = cfg["learning_rate"], cfg.get("warmup_epochs", 0) * steps_per_epoch
    if cfg["schedule"] == "constant" and not warm:
        return lr
    return keras.optimizers.schedules.CosineDecay(0.0 if warm else lr, decay_steps=max(cfg["epochs"] * steps_per_epoch - warm, 1),
                                                  alpha=0.0 if cfg["schedule"] == "cosine" else 1.0,
                                                  warmup_target=lr if warm else None, warmup_steps=warm)


def make_optimizer(cfg, steps_per_epoch):
    """The optimizer and schedule of `cfg` (train's keys). train.warmup_epochs, weight_decay and ema apply
    when present: fine-tuning passes plain(cfg) instead (edgecnn/train/options.py says why).

    Warm-up is Keras' CosineDecay from 0 to the rate over the warm-up steps, then the cosine (or, with
    alpha 1, the constant rate); decay is Keras' decoupled weight_decay, biases and batch-norm's gamma
    and beta excluded; the average is Keras' use_ema, which fit() writes into the weights at its end."""
    lr = make_schedule(cfg, steps_per_epoch)
    extra = {}
    if cfg.get("weight_decay"):
        extra["weight_decay"] = cfg["weight_decay"]
    if cfg.get("ema"):
        extra.update(use_ema=True, ema_momentum=cfg["ema"])
    if cfg["optimizer"] == "sgd":
        optimizer = keras.optimizers.SGD(lr, momentum=0.9, nesterov=True, **extra)
    else:
        optimizer = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}[cfg["optimizer"]](lr, **extra)
    if extra.get("weight_decay"):
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def plain(cfg):
    """train's settings without the choices fine-tuning leaves out (edgecnn/train/options.py): every
    training choice (a `quiet` key of the schema) at its default, which changes nothing."""
    from edgecnn.schema import SCHEMA

    return {**cfg, **{key: field.default for key, field in SCHEMA["train"].items() if field.quiet}}


def make_loss(smoothing, classes, onehot=False):
    """Cross-entropy on the labels the data pipeline yields: integers, or one-hot vectors when mixup or
    CutMix mix them. `train.label_smoothing` > 0 moves that share of each label's mass evenly onto all
    classes (Szegedy et al. 2016, Inception v3), through Keras' own categorical cross-entropy."""
    if onehot:
        return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
    if not smoothing:
        return keras.losses.SparseCategoricalCrossentropy()

    def smoothed_crossentropy(y_true, y_pred):
        onehot = tf.one_hot(tf.cast(tf.reshape(y_true, [-1]), tf.int32), classes)
        return keras.losses.categorical_crossentropy(onehot, y_pred, label_smoothing=smoothing)

    return smoothed_crossentropy


def describe_choices(cfg):
    """The training choices in effect, for the log: 'crop 4 px, erasing 0.5, ...' or ''."""
    said = [f"{name} {cfg[key]:g}{unit}" for key, name, unit in
            (("crop_padding", "crop", " px"), ("erasing", "erasing", ""), ("mixup", "mixup", ""),
             ("cutmix", "cutmix", ""), ("warmup_epochs", "warm-up", " epoch(s)"),
             ("weight_decay", "weight decay", ""), ("ema", "EMA", "")) if cfg.get(key)]
    distill = distill_settings(cfg)
    if distill:
        said.append(f"distilled from {', '.join(distill['teacher'])} (T {distill['temperature']:g}, weight "
                    f"{distill['weight']:g})")
    return ", ".join(said)


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
        return read_json(self.path) if self.path.is_file() else []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()
        if not self.started:
            self.started = True
            rows = self.rows()
            if len(rows) > epoch:
                atomic_write(self.path, json.dumps(rows[:epoch], indent=1).encode())

    def on_epoch_end(self, epoch, logs=None):
        rows = self.rows() + [{"epoch": epoch + 1, "run": self.run, "pid": os.getpid(),
                               "seconds": round(time.perf_counter() - self.epoch_start, 2),
                               **{k: float(v) for k, v in (logs or {}).items()}}]
        atomic_write(self.path, json.dumps(rows, indent=1).encode())


def make_model(recipe, class_names, load=True):
    """The model to train: a zoo model (from scratch or from model.weights) or the user's model.file."""
    spec, shape = recipe["model"], recipe["dataset"]["input_shape"]
    if spec["file"]:
        from edgecnn.zoo.keras_file import load_own

        return load_own(spec["file"], shape, len(class_names))
    return build_model(spec["name"], shape, len(class_names), spec["options"], weights=spec["weights"], load=load,
                       class_names=class_names)


def distilling(model, cfg, input_shape, data):
    """The model fit() trains: the student itself, or a Distiller around it (edgecnn/train/distill.py)."""
    settings = distill_settings(cfg)
    if not settings:
        return model
    from edgecnn.train.distill import Distiller, load_teachers
    from edgecnn.errors import UserError

    if len(model.outputs) > 1:
        raise UserError(f"train.distill: {model.name} has {len(model.outputs)} outputs (auxiliary classifiers); "
                        f"distillation takes a student with one output.")
    teachers = load_teachers(settings["teacher"], input_shape, data.classes, data.class_names)
    distiller = Distiller(model, teachers, settings["temperature"], settings["weight"])
    distiller(tf.zeros((1, *input_shape)))         # built, as BackupAndRestore needs before fit()
    return distiller


def _plain_copy(model, recipe, class_names):
    """The model rebuilt with the trained weights under the float32 policy, outside any strategy and
    never compiled: what model.keras holds. The weights alone, without the optimizer's slots (Adam's
    two per weight tripled ResNet50's file to 283 MB, which every convert stage reloaded), and float32
    layers after mixed-precision training (the weights are float32 variables either way)."""
    keras.mixed_precision.set_global_policy("float32")
    plain = make_model(recipe, class_names, load=False)
    plain.set_weights(model.get_weights())
    for layer in plain.layers:
        layer.trainable = True
    return plain


def head_layers(model):
    """The classifier: the layers whose output is no longer an image (pooling, flatten, dense, dropout)."""
    return {layer for layer in model.layers if len(layer.output.shape) == 2}


def freeze(model, backbone, batch_norm):
    """backbone=False: only the classifier trains. batch_norm=False: BatchNormalization layers stay frozen,
    so they run in inference mode with their moving statistics (Keras' transfer-learning guide)."""
    head = head_layers(model)
    for layer in model.layers:
        if layer in head:
            layer.trainable = True
        elif isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = backbone and batch_norm
        else:
            layer.trainable = backbone


def phases(cfg):
    """[(first epoch, last epoch, learning rate, backbone trains)]: `freeze_backbone_epochs` with the classifier
    alone at train.learning_rate, then the rest with every layer but batch-norm at fine_tune_learning_rate
    (default a tenth)."""
    frozen, epochs = cfg["freeze_backbone_epochs"], cfg["epochs"]
    if not frozen:
        return [(0, epochs, cfg["learning_rate"], True)]
    fine = cfg["fine_tune_learning_rate"] or cfg["learning_rate"] / 10
    return [(0, frozen, cfg["learning_rate"], False)] + ([(frozen, epochs, fine, True)] if epochs > frozen else [])


def claim_checkpoints(recipe, folder):
    """Checkpoints belong to one version of the train stage (model, dataset with its files, train): an edited
    recipe starts fresh instead of resuming another run's weights. Returns what was said, if anything."""
    import shutil

    owner = folder / "stage.json"
    mine = json.dumps(recipe.stage_config("train"), sort_keys=True)
    said = None
    if folder.is_dir() and any(folder.iterdir()) and (not owner.is_file() or owner.read_text() != mine):
        shutil.rmtree(folder)
        said = (f"{folder} held an interrupted run of an earlier version of the recipe (model, dataset or train "
                f"changed since); starting fresh")
        print(said, flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(owner, mine.encode())
    return said


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


def set_bn_momentum(model, momentum):
    """Every BatchNormalization of `model` at `momentum` (None: as built)."""
    if momentum is None:
        return
    for layer in model.submodules:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


class KeepBest(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping with the best weights restored at the end, where an epoch as good as the best counts
    as better: on a small validation set many epochs tie, and the latest of them ran at the lowest rate."""

    def _is_improvement(self, monitor_value, reference_value):
        return monitor_value == reference_value or super()._is_improvement(monitor_value, reference_value)


def mark_kept(history, monitor, after):
    """Early stopping kept the weights of the last phase's best epoch (after epoch `after`): that history row
    gets "kept": true (KeepBest: the latest of the best, highest accuracy or lowest loss)."""
    rows = [row for row in history if row["epoch"] > after and monitor in row]
    if rows:
        sign = -1 if monitor.endswith("loss") else 1
        max(rows, key=lambda row: (sign * row[monitor], row["epoch"]))["kept"] = True


def kept_row(history):
    """The history row of the weights that were kept: the one marked so, else the last."""
    return next((row for row in history if row.get("kept")), history[-1]) if history else None


def alarms(history, data):
    """The warnings the kept epoch calls for: validation top-1 near chance, or training far above validation."""
    row = kept_row(history)
    if not row or "val_accuracy" not in row:
        return []
    said = [chance.chance_line("validation", row["val_accuracy"], data.classes, len(data.y_val))]
    if "accuracy" in row:
        said.append(chance.overfit_line(row["accuracy"], row["val_accuracy"]))
    return [line for line in said if line]


def train(recipe, verbose=None, strategy_name=None, progress=None):
    cfg = recipe["train"]
    out = recipe.build_dir
    strategy = distribute.make_strategy(strategy_name or cfg["strategy"])   # first: a cluster configures at startup
    keras.utils.set_random_seed(cfg["seed"])
    workers = distribute.worker_count(strategy)
    data = load_splits(recipe["dataset"], cfg["seed"], progress)
    for line in balance.lines(data):
        print(line, flush=True)
    cfg, sized = sizing.resolve(cfg, len(data.x_train), strategy.num_replicas_in_sync if cfg["scaling"] == "linear" else 1,
                                recipe["model"]["options"].get("bn_momentum"))
    batch, lr = distribute.scaled(cfg, strategy.num_replicas_in_sync)
    steps = len(data.x_train) // batch if workers > 1 else -(-len(data.x_train) // batch)
    mixed, xla = distribute.gpu_options(cfg)
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    backup = out / "checkpoints"
    chief = distribute.is_chief(strategy)
    if chief:
        claim_checkpoints(recipe, backup)
    with strategy.scope():
        model = make_model(recipe, data.class_names)
        fitted = distilling(model, cfg, recipe["dataset"]["input_shape"], data)
    set_bn_momentum(model, cfg["bn_momentum"])
    heads = len(model.outputs)      # > 1: training-only auxiliary classifiers (GoogLeNet), weighted 0.3
    options = {**cfg, "classes": data.classes}
    train_ds = make_dataset(data.x_train, data.y_train, batch, True, cfg["augmentation"], cfg["seed"], heads,
                            shard=workers > 1, options=options)
    val_ds = make_dataset(data.x_val, data.y_val, 512, False, outputs=heads, shard=workers > 1, options=options)
    where = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    print(f"training {model.name}: {model.count_params():,} parameters, {len(data.x_train):,} images, "
          f"{cfg['epochs']} epochs on {strategy.num_replicas_in_sync} replica(s) ({where}"
          f"{f', {workers} workers' if workers > 1 else ''}), global batch {batch}, learning rate {lr:g}"
          f"{', mixed_float16' if mixed else ''}{', XLA' if xla else ''}", flush=True)
    if sized:
        print(sized, flush=True)
    choices = describe_choices(cfg)
    if choices:
        print(f"training choices: {choices}", flush=True)
    schedule = phases({**cfg, "learning_rate": lr})
    shortest = min((last - first for first, last, _, _ in schedule if last > first), default=0)
    ema_said = ema_warning(cfg["ema"], steps * shortest)      # each phase averages with an optimizer of its own
    if ema_said:
        print(ema_said, flush=True)
    for number, (first, last, rate, backbone) in enumerate(schedule):
        done = backup / f"phase{number}.weights.h5"      # a finished phase is not trained again on resume
        if done.is_file():
            model.load_weights(done)
            continue
        if last == first:                               # train.epochs: 0, the starting weights as they are
            continue
        if cfg["freeze_backbone_epochs"]:
            freeze(model, backbone, batch_norm=False)
            print(f"epochs {first + 1}-{last}: " + ("every layer but batch-norm" if backbone else
                  "the classifier alone, the backbone frozen") + f", learning rate {rate:g}", flush=True)
        with strategy.scope():
            fitted.compile(optimizer=make_optimizer({**cfg, "learning_rate": rate, "epochs": last - first}, steps),
                          loss=make_loss(cfg["label_smoothing"], data.classes, is_mixing(cfg)),
                          loss_weights=[1.0] + [0.3] * (heads - 1) if heads > 1 else None,
                          metrics=["accuracy"], jit_compile=xla or None)
        log = EpochLog(backup / "history.json")
        # The log goes first: a kill before the checkpoint lands is undone on resume (EpochLog cuts it back).
        # In a cluster only the chief keeps it; BackupAndRestore keeps one folder a worker (chief/, workertemp_N/).
        state = backup / f"phase{number}" if number else backup
        callbacks = ([log] if chief else []) + [keras.callbacks.BackupAndRestore(str(state))]
        if cfg["early_stopping"] and len(data.y_val) and number == len(schedule) - 1:   # it compares validation
            callbacks.append(KeepBest("val_accuracy" if heads == 1 else "val_loss", patience=cfg["early_stopping"],
                                      restore_best_weights=True, verbose=1))
        fitted.fit(train_ds, validation_data=val_ds, initial_epoch=first, epochs=last, callbacks=callbacks,
                  verbose=(1 if sys.stdout.isatty() else 2) if verbose is None else verbose)
        if chief and number < len(schedule) - 1:
            model.save_weights(done)
    model = _plain_copy(model, recipe, data.class_names)    # every worker of a cluster reads the weights
    if not chief:
        return model, []                                 # the chief alone re-estimates BN and saves
    if cfg["bn_recalibration"]:
        done = recalibrate_bn(model, data.x_train, cfg["bn_recalibration"], cfg["batch_size"])
        print(f"batch-norm statistics re-estimated over {done} training batches", flush=True)

    history = EpochLog(backup / "history.json").rows()
    if cfg["early_stopping"] and len(data.y_val):
        mark_kept(history, "val_accuracy" if heads == 1 else "val_loss", schedule[-1][0])
    for line in alarms(history, data):
        print(line, flush=True)
    with atomic_path(out / "model.keras") as tmp:
        model.save(tmp)
    atomic_write(out / "history.json", (json.dumps(history, indent=1) + "\n").encode())
    atomic_write(out / "labels.txt", ("\n".join(data.class_names) + "\n").encode())
    for name in ("model.keras", "history.json", "labels.txt"):
        record(recipe, out / name, "train")
    import shutil

    shutil.rmtree(backup, ignore_errors=True)           # the run is done: nothing is left to resume
    return model, history
