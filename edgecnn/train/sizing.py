"""Training defaults that follow the data's size: what the recipe leaves at null (auto) is chosen here from the
number of training images, and each choice is said in one line with the key that overrides it.

Below SMALL training images a data set is small. Then a batch of 128 makes a handful of steps an epoch, five
epochs a few dozen steps, and batch-norm's moving statistics (momentum 0.99) keep two thirds of their starting
values (0.99^40): the inference model is not the one trained, and a set that a small CNN solves scores at
chance. So a small set gets:

  batch_size        32 (128 otherwise), and never more than the images
  epochs            enough for about TARGET_STEPS steps (5 to 100 epochs), with
  early_stopping    a third of the epochs (at least 10) without a validation top-1 as good as the best end
                    the run; the best epoch's weights are kept, the latest of equals (a lower learning rate).
                    Ten epochs stopped the synthetic 540-image set at epoch 27 of 59 on a high learning rate,
                    its epoch 17 kept: 94.44 % test top-1
  augmentation      hflip, translate, zoom (none otherwise): set it for data whose mirror image is another class
  bn_recalibration  the statistics re-estimated over the whole training set at the end (every batch, at most
                    100), unless freeze_backbone_epochs keeps batch-norm frozen with its starting statistics

and at any size `bn_momentum` (auto) is Keras' 0.99 unless the run is too short for it: then the momentum that
leaves 1 % of the starting statistics after half the steps, 0.01^(2 / steps); with early stopping, whose epochs
are compared on validation, also at most 1 % of the statistics from before each epoch, 0.01^(1 / steps an
epoch): at 0.99 a 540-image set validated at chance for ten epochs while its training accuracy rose to 0.91,
and early stopping kept the first epoch. The learning rate follows train.schedule (cosine by default) over
whatever epochs run.
"""

import math

SMALL = 5_000
TARGET_STEPS = 1_000
EPOCHS = (5, 100)
PATIENCE = (10, 3)      # epochs with no validation top-1 as good as the best: at least 10, a third of the run
SMALL_AUGMENTATION = ["hflip", "translate", "zoom"]
KERAS_MOMENTUM = 0.99


def momentum_for(steps, per_epoch=None):
    """Keras' 0.99, or less when 0.99 would keep over 1 % of the starting statistics after half the steps;
    with `per_epoch` (early stopping compares epochs) at most 1 % of the statistics that predate an epoch."""
    momentum = min(KERAS_MOMENTUM, 0.01 ** (2 / max(steps, 2)))
    return min(momentum, 0.01 ** (1 / per_epoch)) if per_epoch else momentum


def resolve(cfg, images, replicas=1, model_momentum=None):
    """(train section with every auto key chosen, the lines saying what was chosen). `images`: training images;
    `model_momentum`: the model's own bn_momentum option, which auto leaves alone."""
    out, said = dict(cfg), []
    small = images < SMALL
    if out["batch_size"] is None:
        out["batch_size"] = 32 if small else 128
        if small:
            said.append(f"batch {out['batch_size']} (train.batch_size)")
    if out["batch_size"] * replicas > images:
        shrunk = max(1, images // replicas)
        said.append(f"batch shrunk from {out['batch_size']} to {shrunk}: only {images:,} training images "
                    f"(train.batch_size)")
        out["batch_size"] = shrunk
    steps = math.ceil(images / (out["batch_size"] * replicas))
    if out["epochs"] is None:
        out["epochs"] = min(max(math.ceil(TARGET_STEPS / steps), EPOCHS[0]), EPOCHS[1]) if small else EPOCHS[0]
        if small:
            said.append(f"up to {out['epochs']} epochs (train.epochs)")
    if out["early_stopping"] is None:
        out["early_stopping"] = max(PATIENCE[0], out["epochs"] // PATIENCE[1]) if small else 0
        if small:
            said.append(f"early stopping after {out['early_stopping']} epochs with no validation top-1 as good as the best, "
                        f"the best epoch's weights kept (train.early_stopping; 0 turns it off)")
    if out["augmentation"] is None:
        out["augmentation"] = list(SMALL_AUGMENTATION) if small else []
        if small:
            said.append(f"augmentation {', '.join(SMALL_AUGMENTATION)} (train.augmentation)")
    total = steps * max(out["epochs"] - out["freeze_backbone_epochs"], 1)
    momentum = momentum_for(total, steps if out["early_stopping"] else None)
    if out["bn_momentum"] is None and model_momentum is None and momentum < KERAS_MOMENTUM:
        out["bn_momentum"] = round(momentum, 4)
        said.append(f"batch-norm momentum {out['bn_momentum']:g} (train.bn_momentum; Keras' {KERAS_MOMENTUM} would "
                    f"keep {KERAS_MOMENTUM ** total:.0%} of the starting statistics after all {total:,} steps, "
                    f"{KERAS_MOMENTUM ** steps:.0%} of the last epoch's after each)")
    if out["bn_recalibration"] is None:         # not where batch-norm stays frozen (training from a start, frozen)
        recalibrate = small and not out["freeze_backbone_epochs"]
        out["bn_recalibration"] = min(images // out["batch_size"], 100) if recalibrate else 0
        if recalibrate:
            said.append(f"batch-norm statistics re-estimated over {out['bn_recalibration']} training batches at "
                        f"the end (train.bn_recalibration)")
    if small and said:
        said.insert(0, f"small data set: {images:,} training images (under {SMALL:,}), {steps} steps an epoch")
    return out, ("; ".join(said) if said else None)
