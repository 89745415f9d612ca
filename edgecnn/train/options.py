"""The training choices beyond the basics, checked against each other and the data before any work starts.

Each is a `train:` key whose default changes nothing (edgecnn/recipe.py SCHEMA):

  crop_padding   pixels of zero padding, then a random crop back to the input size (a random shift
                 of at most that many pixels, per image; Keras' RandomTranslation)
  erasing        the probability that an image gets one random rectangle of noise (Zhong et al. 2017,
                 random erasing: 2-40 % of the area, aspect 0.3-3.3)
  mixup, cutmix  alpha of Beta(alpha, alpha): each batch blended with itself shuffled (Zhang et al. 2018)
                 or a patch of it pasted in (Yun et al. 2019), labels mixed in proportion
  warmup_epochs  the learning rate rises linearly from 0 over these epochs, then follows the schedule
  weight_decay   decoupled decay (AdamW / SGDW, Loshchilov & Hutter 2019) on every weight but biases
                 and batch-norm's scale and offset
  ema            momentum of an exponential moving average of the weights, which replaces them at the
                 end (evaluation and every exported file use it)
  distill        {teacher, temperature, weight}: knowledge distillation (Hinton et al. 2015) from one
                 trained Keras model or several averaged (edgecnn/train/distill.py)

The compression steps' fine-tuning (prune, qat, cluster) keeps to train.augmentation and the plain
optimizer: an average of the weights would undo pruning's zeros, and mixed labels need another loss.
"""

import difflib
from pathlib import Path

from edgecnn.errors import UserError

DISTILL_DEFAULTS = {"temperature": 4.0, "weight": 0.5}
DISTILL_RANGES = {"temperature": (1.0, 100.0), "weight": (0.0, 1.0)}


def teachers(cfg):
    """The teacher paths of train.distill (a path or a list of paths), [] without distillation."""
    distill = cfg.get("distill") or {}
    teacher = distill.get("teacher")
    if isinstance(teacher, str):
        return [teacher]
    return [t for t in teacher if isinstance(t, str)] if isinstance(teacher, list) else []


def distill_settings(cfg):
    """{teachers, temperature, weight} of a checked recipe, or None."""
    if not cfg.get("distill"):
        return None
    return {**DISTILL_DEFAULTS, **cfg["distill"], "teacher": teachers(cfg)}


def is_mixing(cfg):
    """True when labels are mixed (mixup or CutMix), so they travel as one-hot vectors."""
    return bool(cfg.get("mixup") or cfg.get("cutmix"))


def ema_warning(momentum, steps):
    """A sentence when Keras' average (which starts from the starting weights, with no bias correction)
    would still hold more than 1 % of them after `steps` updates, else None."""
    if not momentum or not steps or momentum ** steps <= 0.01:
        return None
    return (f"warning: train.ema {momentum:g} over this run's {steps:,} steps leaves {momentum ** steps:.0%} of the "
            f"starting weights in the average that replaces the trained ones; for this run use at most "
            f"{1 - 5 / steps:.4f} (1 - 5 / steps).")


def check_train(data, source):
    """UserError for training choices that cannot work together or with the data's input size."""
    cfg, shape = data["train"], data["dataset"]["input_shape"]
    if cfg["epochs"] and cfg["warmup_epochs"] >= cfg["epochs"]:
        raise UserError(f"{source}: train.warmup_epochs ({cfg['warmup_epochs']}) must be less than train.epochs "
                        f"({cfg['epochs']}); the schedule needs epochs after the warm-up.")
    most = min(shape[0], shape[1]) // 2
    if cfg["crop_padding"] > most:
        raise UserError(f"{source}: train.crop_padding: got {cfg['crop_padding']}, expected a value in [0, {most}] "
                        f"(at most half of the {shape[0]}x{shape[1]} input).")
    if cfg["mixup"] and cfg["cutmix"]:
        raise UserError(f"{source}: train.mixup and train.cutmix are both set; choose one (mixup blends whole "
                        f"images, CutMix pastes a patch) and set the other to 0.")
    if cfg["distill"] is not None:
        cfg["distill"] = _check_distill(cfg["distill"], source, Path(source).stem)


def _check_distill(distill, source, name):
    where = f"{source}: train.distill"
    if not isinstance(distill, dict) or not distill:
        raise UserError(f"{where}: got {distill!r}, expected a mapping such as "
                        f"{{teacher: build/<recipe>/model.keras, temperature: 4, weight: 0.5}}.")
    known = ["teacher", *DISTILL_DEFAULTS]
    for key in distill:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(known)}."
            raise UserError(f"{where}: unknown key '{key}': {hint}")
    teacher = distill.get("teacher")
    paths = [teacher] if isinstance(teacher, str) else teacher
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
        raise UserError(f"{where}.teacher: got {teacher!r}, expected the path of a trained Keras model (such as "
                        f"build/<recipe>/model.keras) or a list of them.")
    for path in paths:
        _check_teacher_path(path, where, name)
    out = {"teacher": teacher}
    for key, default in DISTILL_DEFAULTS.items():
        value = distill.get(key, default)
        low, high = DISTILL_RANGES[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise UserError(f"{where}.{key}: got {value!r}, expected a number in [{low:g}, {high:g}].")
        out[key] = float(value)
    return out


def _check_teacher_path(path, where, name):
    """A teacher exists, or is the model.keras of another recipe that Make builds first."""
    parts = Path(path).parts
    built_by_make = len(parts) == 3 and parts[0] == "build" and parts[2] == "model.keras"
    if built_by_make and parts[1] == name:
        raise UserError(f"{where}.teacher: {path} is this recipe's own model; a teacher is another recipe's "
                        f"trained model.")
    if Path(path).exists():
        return
    if built_by_make and (Path("recipes") / f"{parts[1]}.yaml").is_file():
        return
    raise UserError(f"{where}.teacher: {path} does not exist; give a trained Keras model (.keras or .h5), or "
                    f"build/<recipe>/model.keras of a recipe under recipes/, which make builds first.")
