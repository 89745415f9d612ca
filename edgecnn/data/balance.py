"""What a data set's class counts say before any training: classes unbalanced by more than 10x, and a test split
too small for its top-1 to mean much. Warnings, printed at the start of training; the work goes on."""

import numpy as np

from edgecnn.bench.chance import FEW_PER_CLASS, interval

UNBALANCED = 10         # the largest class this many times the smallest is an alarm


def counts(y, classes):
    return np.bincount(np.asarray(y, np.int64), minlength=classes)[:classes]


def unbalanced_line(y, names):
    """'warning: ...' naming the largest and the smallest classes when they differ by more than 10x, else None."""
    n = counts(y, len(names))
    big, small = int(n.argmax()), int(n.argmin())
    if n[small] * UNBALANCED >= n[big]:
        return None
    rare = [names[c] for c in np.flatnonzero(n * UNBALANCED < n[big])]
    return (f"warning: the training classes are unbalanced by more than {UNBALANCED}x: '{names[big]}' has "
            f"{n[big]:,} images, {', '.join(repr(r) for r in rare)} {n[small]:,} at fewest; the model will favour "
            f"the large classes: add images of the small ones, or keep as many of each with "
            f"dataset.samples_per_class.")


def small_test_line(y, names):
    """'warning: ...' when some class has fewer than 10 test images, with the interval a top-1 would have."""
    n = counts(y, len(names))
    fewest = int(n.argmin())
    if n[fewest] >= FEW_PER_CLASS:
        return None
    low, high = interval(0.5, int(n.sum()))
    return (f"warning: the test split has {n.sum():,} images, {n[fewest]} of '{names[fewest]}' (fewer than "
            f"{FEW_PER_CLASS} a class): a top-1 measured on it is noisy, within about "
            f"±{100 * (high - low) / 2:.0f} points at 95 %; add test images for a figure worth comparing.")


def lines(splits):
    """The warnings for a Splits (edgecnn/data/datasets.py)."""
    said = [unbalanced_line(splits.y_train, splits.class_names), small_test_line(splits.y_test, splits.class_names)]
    return [line for line in said if line]
