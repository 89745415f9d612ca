"""Whether a top-1 says anything: near chance, far below the training accuracy, or measured on too few images.

Training, the bench, the report and `optimize` print these lines next to their figures, so a model that has
not learned its task is never presented like one that has. Nothing here needs more than the standard library:
the bench runs on devices with numpy and a TFLite runtime alone.
"""

import math

ABOVE_CHANCE = 0.05     # points (as a fraction) above 1/classes that still count as chance
Z_ONE_SIDED = 2.33      # 99 %: a top-1 on few images must clear chance by this many standard errors
OVERFIT = 0.15          # training accuracy this far above validation's is an alarm
FEW_PER_CLASS = 10      # test images per class below which a top-1 is noisy
ADVICE = ("try model.weights: imagenet, transfer from a trained recipe of your own (model.weights: "
          "build/<recipe>/model.keras), more images, or the train keys epochs, augmentation, bn_momentum "
          "(docs/your-data.md)")


def chance_margin(classes, samples):
    """How far above 1/classes a top-1 on `samples` images must be to tell it from guessing."""
    p = 1 / classes
    return max(ABOVE_CHANCE, Z_ONE_SIDED * math.sqrt(p * (1 - p) / max(samples, 1)))


def near_chance(top1, classes, samples):
    return classes >= 2 and top1 < 1 / classes + chance_margin(classes, samples)


def interval(top1, samples, z=1.96):
    """Wilson's 95 % interval of a top-1 measured on `samples` images."""
    n = max(samples, 1)
    centre = (top1 + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(top1 * (1 - top1) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def chance_line(what, top1, classes, samples):
    """'warning: ...' when `top1` (of `what`) cannot be told from guessing among `classes`, else None."""
    if not near_chance(top1, classes, samples):
        return None
    return (f"warning: {what} top-1 {100 * top1:.2f} % on {samples:,} images is within "
            f"{100 * chance_margin(classes, samples):.0f} points of chance ({100 / classes:.2f} % for {classes} "
            f"classes): the model has not learned the task; {ADVICE}.")


def overfit_line(train_top1, val_top1):
    """'warning: ...' when training accuracy is more than OVERFIT above validation's, else None."""
    if train_top1 - val_top1 <= OVERFIT:
        return None
    return (f"warning: training accuracy {100 * train_top1:.2f} % is {100 * (train_top1 - val_top1):.0f} points "
            f"above validation's {100 * val_top1:.2f} %: the model learns the training images, not the task; "
            f"{ADVICE}.")


def noisy_line(what, top1, samples, fewest):
    """'warning: ...' when the test set has fewer than FEW_PER_CLASS images of some class, else None."""
    if fewest >= FEW_PER_CLASS:
        return None
    low, high = interval(top1, samples)
    return (f"warning: {what} top-1 {100 * top1:.2f} % comes from {samples:,} test images ({fewest} of the "
            f"rarest class, fewer than {FEW_PER_CLASS}): it is noisy, its 95 % interval {100 * low:.1f}-"
            f"{100 * high:.1f} %.")


def lines(what, accuracy):
    """Every warning for a bench accuracy dict (top1, samples, classes, fewest)."""
    if not accuracy or "classes" not in accuracy:
        return []
    said = [chance_line(what, accuracy["top1"], accuracy["classes"], accuracy["samples"]),
            noisy_line(what, accuracy["top1"], accuracy["samples"], accuracy.get("fewest", FEW_PER_CLASS))]
    return [line for line in said if line]
