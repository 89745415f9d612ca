"""Training defaults that follow the data's size (edgecnn/train/sizing.py), the class-count warnings
(edgecnn/data/balance.py) and the alarms on a top-1 near chance (edgecnn/bench/chance.py): no TensorFlow."""

import numpy as np

from edgecnn.bench import chance
from edgecnn.data import balance
from edgecnn.schema import validate
from edgecnn.train import sizing


def train_section(**given):
    return validate({"model": {"name": "mobilenet_v2"}, "train": given}, "r.yaml")["train"]


def test_a_large_set_trains_as_it_always_did():
    cfg, said = sizing.resolve(train_section(), 27_000)
    assert (cfg["batch_size"], cfg["epochs"], cfg["augmentation"], cfg["bn_recalibration"], cfg["early_stopping"],
            cfg["bn_momentum"]) == (128, 5, [], 0, 0, None)
    assert said is None


def test_a_small_set_gets_small_batches_enough_epochs_early_stopping_augmentation_and_fresh_bn_statistics():
    cfg, said = sizing.resolve(train_section(), 540)
    assert cfg["batch_size"] == 32 and cfg["epochs"] == 59          # 17 steps an epoch, about 1,000 steps
    assert cfg["early_stopping"] == 19 and cfg["augmentation"] == ["hflip", "translate", "zoom"]
    assert cfg["bn_recalibration"] == 16                               # every full batch of the 540 images
    assert cfg["bn_momentum"] == round(0.01 ** (1 / 17), 4)           # validation after each epoch is that epoch's
    assert said.startswith("small data set: 540 training images (under 5,000), 17 steps an epoch; batch 32")
    for key in ("train.batch_size", "train.epochs", "train.early_stopping", "train.augmentation",
                "train.bn_recalibration"):
        assert key in said


def test_what_the_recipe_sets_stays_and_a_short_run_gets_a_momentum_that_keeps_up():
    """The case of a user's 8 epochs at batch 128 on 540 images: 40 steps, 0.99^40 = 67 % of the starting
    statistics left; the momentum chosen leaves 1 % after 20 steps."""
    cfg, said = sizing.resolve(train_section(epochs=8, batch_size=128, augmentation=[], bn_recalibration=0,
                                             early_stopping=0), 540)
    assert (cfg["epochs"], cfg["batch_size"], cfg["augmentation"], cfg["bn_recalibration"]) == (8, 128, [], 0)
    assert cfg["bn_momentum"] == round(0.01 ** (1 / 20), 4) and "0.99 would keep 67% of the starting" in said
    assert "; batch-norm momentum 0.7943 (train.bn_momentum" in said
    assert sizing.resolve(train_section(epochs=8, bn_momentum=0.99), 540)[0]["bn_momentum"] == 0.99
    assert sizing.resolve(train_section(epochs=8), 540, model_momentum=0.9)[0]["bn_momentum"] is None


def test_fewer_images_than_the_batch_shrink_it_and_say_so():
    cfg, said = sizing.resolve(train_section(batch_size=256), 100)
    assert cfg["batch_size"] == 100 and "batch shrunk from 256 to 100: only 100 training images" in said


def test_chance_is_flagged_with_what_to_try_and_a_learned_model_is_not():
    line = chance.chance_line("validation", 0.3333, 3, 180)
    assert line.startswith("warning: validation top-1 33.33 % on 180 images is within 8 points of chance "
                           "(33.33 % for 3 classes)")
    assert "model.weights: imagenet" in line and "more images" in line
    assert chance.chance_line("validation", 0.95, 3, 180) is None        # 2.33 standard errors: 8 points at 180
    assert chance.near_chance(0.36, 3, 30) and not chance.near_chance(0.60, 3, 30)   # 30 images: a wider margin
    assert chance.overfit_line(0.95, 0.60).startswith("warning: training accuracy 95.00 % is 35 points above")
    assert chance.overfit_line(0.95, 0.90) is None


def test_wilson_interval_and_a_noisy_test_set():
    low, high = chance.interval(0.9, 30)
    assert 0.73 < low < 0.75 and 0.96 < high < 0.97                   # Wilson 95 %: 0.744-0.965
    line = chance.noisy_line("int8.tflite", 0.9, 30, 6)
    assert "6 of the rarest class, fewer than 10" in line and "95 % interval 74.4-96.5 %" in line
    assert chance.noisy_line("int8.tflite", 0.9, 300, 100) is None


def test_unbalanced_classes_and_a_small_test_split_are_named():
    names = ["circle", "square", "triangle"]
    y = np.array([0] * 500 + [1] * 40 + [2] * 400)
    line = balance.unbalanced_line(y, names)
    assert "unbalanced by more than 10x: 'circle' has 500 images, 'square' 40 at fewest" in line
    assert balance.unbalanced_line(np.array([0] * 50 + [1] * 40 + [2] * 45), names) is None
    line = balance.small_test_line(np.array([0] * 12 + [1] * 7 + [2] * 12), names)
    assert "the test split has 31 images, 7 of 'square' (fewer than 10 a class)" in line
    assert balance.small_test_line(np.array([0, 1, 2] * 10), names) is None
