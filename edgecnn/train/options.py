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

from edgecnn.schema import DISTILL_DEFAULTS, teachers


def distill_settings(cfg):
    """{teachers, temperature, weight} of a checked recipe, or None."""
    if not cfg.get("distill"):
        return None
    return {**DISTILL_DEFAULTS, **cfg["distill"], "teacher": teachers(cfg)}


def ema_warning(momentum, steps):
    """A sentence when Keras' average (which starts from the starting weights, with no bias correction)
    would still hold more than 1 % of them after `steps` updates, else None."""
    if not momentum or not steps or momentum ** steps <= 0.01:
        return None
    return (f"warning: train.ema {momentum:g} over this run's {steps:,} steps leaves {momentum ** steps:.0%} of the "
            f"starting weights in the average that replaces the trained ones; for this run use at most "
            f"{1 - 5 / steps:.4f} (1 - 5 / steps).")
