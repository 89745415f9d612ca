"""The training choices (edgecnn/train/options.py): each changes what it should on a tiny run, each default
changes nothing, and each bad value is one sentence naming the key and its range."""

import json

import numpy as np
import pytest
import yaml

from conftest import DEMO_RECIPE, make
from edgecnn import recipe as recipes
from edgecnn.data.pipeline import make_dataset
from edgecnn.errors import UserError
from edgecnn.tf import keras, tf
from edgecnn.train.fit import make_optimizer, make_schedule, plain


def demo_with(tmp_path, name="r.yaml", **train):
    data = yaml.safe_load(DEMO_RECIPE.read_text())
    data["train"].update(train)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def error_of(path):
    with pytest.raises(UserError) as e:
        recipes.load(path)
    return str(e.value)


@pytest.mark.parametrize("edit, expected", [
    ({"erasing": 1.5}, "train.erasing: got 1.5, expected a value in [0, 1]."),
    ({"mixup": -1}, "train.mixup: got -1.0, expected a value in [0, 10]."),
    ({"ema": 1.0}, "train.ema: got 1.0, expected a value in [0, 1)."),
    ({"weight_decay": 2}, "train.weight_decay: got 2.0, expected a value in [0, 1)."),
    ({"crop_padding": 20}, "train.crop_padding: got 20, expected a value in [0, 16] (at most half of the 32x32 input)."),
    ({"warmup_epochs": 6}, "train.warmup_epochs (6) must be less than train.epochs (6)"),
    ({"mixup": 0.2, "cutmix": 1.0}, "train.mixup and train.cutmix are both set; choose one"),
    ({"distill": {"teacher": "nowhere/t.keras"}}, "train.distill.teacher: nowhere/t.keras does not exist"),
    ({"distill": {"teacher": "build/r/model.keras"}}, "build/r/model.keras is this recipe's own model"),
    ({"distill": {"teacher": "build/no_such_recipe/model.keras"}}, "does not exist"),
    ({"distill": {"teacher": str(DEMO_RECIPE), "temprature": 2}}, "unknown key 'temprature': did you mean 'temperature'?"),
    ({"distill": {"teacher": str(DEMO_RECIPE), "temperature": 0.5}},
     "train.distill.temperature: got 0.5, expected a number in [1, 100]."),
    ({"distill": {"teacher": str(DEMO_RECIPE), "weight": 2}}, "train.distill.weight: got 2, expected a number in [0, 1]."),
    ({"distill": {"teacher": []}}, "train.distill.teacher: got [], expected the path of a trained Keras model"),
])
def test_out_of_range_choices_are_one_sentence_naming_the_key_and_range(tmp_path, edit, expected):
    assert expected in error_of(demo_with(tmp_path, **edit))


def test_defaults_leave_every_stage_config_as_it_was(tmp_path, monkeypatch):
    """A recipe that sets none of the choices keeps its stage configs (and so its built files); one that
    sets one changes the stages that read train: and no other."""
    monkeypatch.chdir(tmp_path)
    plain_recipe = recipes.load(demo_with(tmp_path, "a.yaml"))
    assert not {"crop_padding", "erasing", "mixup", "cutmix", "warmup_epochs", "weight_decay", "ema", "distill"} & \
        set(plain_recipe.stage_config("train")["train"])
    with_ema = recipes.load(demo_with(tmp_path, "b.yaml", ema=0.99))
    changed = {s for s in recipes.STAGES if plain_recipe.stage_config(s) != with_ema.stage_config(s)}
    assert changed == {s for s, sections in recipes.STAGES.items() if "train" in sections}


def picture_batch(n=16, size=32):
    """Images of one constant value each (10 * class + 5) on a zero background, 12x12 in the middle."""
    x = np.zeros((n, size, size, 1), np.uint8)
    y = np.arange(n) % 10
    for i in range(n):
        x[i, 10:22, 10:22] = 10 * y[i] + 5
    return x, y


def one_batch(x, y, **options):
    keras.utils.set_random_seed(0)
    ds = make_dataset(x, y, len(x), True, options={"classes": 10, **options})
    return [t.numpy() for t in next(iter(ds))]


def test_crop_shifts_each_image_by_at_most_the_padding():
    x, y = picture_batch()
    out, _ = one_batch(x, y, crop_padding=3)
    shifts = set()
    for image in out[..., 0]:
        rows, cols = np.nonzero(image)
        assert rows.size == 144                              # the square moves whole (zeros come in at the edge)
        shifts.add((rows.min() - 10, cols.min() - 10))
    assert all(abs(a) <= 3 and abs(b) <= 3 for a, b in shifts) and len(shifts) > 3


def test_erasing_puts_one_rectangle_of_noise_in_each_image_at_probability_one():
    x = np.full((32, 32, 32, 1), 7, np.uint8)
    out, _ = one_batch(x, np.zeros(32, int), erasing=1.0)
    for image in out[..., 0]:
        rows, cols = np.nonzero(image != 7)
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert 0.02 * 1024 * 0.5 <= box <= 0.4 * 1024 * 1.3          # 2-40 % of the area, rounded to pixels
        assert rows.size > 0.9 * box                                 # a filled rectangle, not scattered pixels
    assert np.array_equal(one_batch(x, np.zeros(32, int), erasing=0.0)[0], x.astype("float32"))


@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_mixed_labels_follow_the_mixed_pixels(kind):
    """Each image is one constant value per class, so a mixed image's mean is the labels' mix of the values."""
    x = np.stack([np.full((32, 32, 1), 10 * c + 5, np.uint8) for c in range(10)] * 2)
    y = np.arange(20) % 10
    out, labels = one_batch(x, y, **{kind: 1.0})
    assert labels.shape == (20, 10) and np.allclose(labels.sum(1), 1)
    values = 10 * np.arange(10) + 5
    np.testing.assert_allclose(out.reshape(20, -1).mean(1), labels @ values, rtol=1e-4)
    assert (labels.max(1) < 1).any()                              # something was mixed
    val = make_dataset(x, y, 20, False, options={"classes": 10, kind: 1.0})
    assert next(iter(val))[1].shape == (20, 10)                   # validation labels one-hot too, unmixed


def test_warmup_rises_from_zero_then_follows_the_schedule():
    cfg = {"learning_rate": 0.1, "schedule": "cosine", "epochs": 4, "optimizer": "adam", "warmup_epochs": 1}
    lr = make_schedule(cfg, steps_per_epoch=10)
    assert float(lr(0)) == 0 and abs(float(lr(5)) - 0.05) < 1e-6 and abs(float(lr(10)) - 0.1) < 1e-6
    assert float(lr(25)) < 0.1 and float(lr(40)) < 1e-6
    constant = make_schedule({**cfg, "schedule": "constant"}, steps_per_epoch=10)
    assert abs(float(constant(5)) - 0.05) < 1e-6 and abs(float(constant(35)) - 0.1) < 1e-6


def test_weight_decay_shrinks_kernels_and_leaves_biases_and_batch_norm_alone():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, bias_initializer="ones"),
                              keras.layers.BatchNormalization()])
    before = [w.copy() for w in model.get_weights()]
    opt = make_optimizer({"learning_rate": 0.1, "schedule": "constant", "epochs": 1, "optimizer": "sgd",
                          "weight_decay": 0.5}, 1)
    opt.apply_gradients([(tf.zeros_like(v), v) for v in model.trainable_variables])
    kernel, bias, gamma, beta = model.get_weights()[:4]
    np.testing.assert_allclose(kernel, before[0] * (1 - 0.1 * 0.5), rtol=1e-6)   # decoupled: w -= lr * wd * w
    assert np.array_equal(bias, before[1]) and np.array_equal(gamma, before[2]) and np.array_equal(beta, before[3])


def test_ema_weights_are_the_average_of_the_steps_and_replace_the_raw_ones():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(make_optimizer({"learning_rate": 0.1, "schedule": "constant", "epochs": 1, "optimizer": "sgd",
                                  "ema": 0.5}, 1), "sparse_categorical_crossentropy")
    start = [w.copy() for w in model.get_weights()]
    seen = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(model.get_weights()))
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    model.fit(x, np.arange(40) % 3, batch_size=8, epochs=1, verbose=0, callbacks=[record], shuffle=False)
    average = start
    for step in seen:
        average = [0.5 * a + 0.5 * w for a, w in zip(average, step)]
    for got, want, raw in zip(model.get_weights(), average, seen[-1]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert not np.allclose(got, raw)                            # the raw weights are gone
    assert not make_optimizer(plain({"learning_rate": 0.1, "schedule": "constant", "epochs": 1, "optimizer": "sgd",
                                     "ema": 0.5}), 1).use_ema       # fine-tuning does not average


def test_an_average_too_slow_for_the_run_is_a_warning():
    from edgecnn.train.options import ema_warning

    said = ema_warning(0.999, 1880)
    assert "leaves 15% of the starting weights" in said and "use at most 0.9973" in said
    assert ema_warning(0.999, 16_880) is None and ema_warning(0.0, 10) is None


def test_soften_at_temperature_one_is_the_distribution_itself():
    from edgecnn.train.distill import soften

    p = np.array([[0.7, 0.2, 0.1]], "float32")
    np.testing.assert_allclose(soften(p, 1.0), p, rtol=1e-5)
    assert float(tf.reduce_max(soften(p, 4.0))) < 0.7              # warmer: flatter


def _student_after_one_step(teacher, weight):
    from edgecnn.train.distill import Distiller

    keras.utils.set_random_seed(0)
    student = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    distiller = Distiller(student, [teacher], temperature=2.0, weight=weight)
    distiller.compile(keras.optimizers.SGD(0.5), keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    history = distiller.fit(x, np.arange(16) % 3, batch_size=16, epochs=1, verbose=0, shuffle=False)
    return student.get_weights()[0], history.history


def test_distillation_loss_uses_the_teacher():
    """With weight 1 the student learns only from the teacher: two teachers, two students; with weight 0
    it learns only from the labels: the teacher makes no difference."""
    def teacher(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])

    a, b = teacher(10), teacher(20)
    from_a, history = _student_after_one_step(a, 1.0)
    from_b, _ = _student_after_one_step(b, 1.0)
    assert not np.allclose(from_a, from_b) and history["distillation_loss"][0] > 0
    np.testing.assert_allclose(_student_after_one_step(a, 0.0)[0], _student_after_one_step(b, 0.0)[0], rtol=1e-6)


def _save(model, path):
    model.save(path)
    return str(path)


def test_teacher_mismatch_missing_and_not_a_model_are_one_sentence(tmp_path):
    from edgecnn.train.distill import load_teachers

    def model(shape, classes):
        return keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(classes, "softmax")])

    good = _save(model((32, 32, 1), 10), tmp_path / "good.keras")
    assert len(load_teachers([good], [32, 32, 1], 10)) == 1
    wrong_shape = _save(model((28, 28, 1), 10), tmp_path / "shape.keras")
    wrong_classes = _save(model((32, 32, 1), 5), tmp_path / "classes.keras")
    text = tmp_path / "text.keras"
    text.write_text("not a model")
    cases = {wrong_shape: "takes 28x28x1 images but the student takes 32x32x1 (dataset.input_shape)",
             wrong_classes: "outputs 5 classes but the student's data has 10",
             str(text): "train.distill.teacher " + str(text) + " is not a Keras model",
             str(tmp_path / "gone.keras"): "does not exist; train the teacher first"}
    for path, expected in cases.items():
        with pytest.raises(UserError, match=None) as e:
            load_teachers([path], [32, 32, 1], 10)
        assert expected in str(e.value), str(e.value)


def test_every_choice_together_trains_a_student_that_saves_and_converts(workspace):
    """A tiny run with all the choices through make: the teacher is trained first, the log names the choices,
    distillation's loss is logged, and model.keras is the student alone (no Distiller, no teacher), which converts."""
    (workspace / "recipes" / "t_teacher.yaml").write_text(
        "model: {name: micro_cnn, options: {widths: [8, 16]}}\ndataset: {train_samples: 256}\n"
        "train: {epochs: 1, batch_size: 64, augmentation: []}\n")
    (workspace / "recipes" / "t_student.yaml").write_text(
        "model: {name: micro_cnn, options: {widths: [4, 8]}}\ndataset: {train_samples: 256}\n"
        "train: {epochs: 2, batch_size: 64, augmentation: [], crop_padding: 2, erasing: 0.5, cutmix: 1.0, warmup_epochs: 1,\n"
        "        weight_decay: 0.01, ema: 0.9, distill: {teacher: build/t_teacher/model.keras}}\n")
    proc = make(workspace, "build/t_student/model.keras")           # the teacher is a prerequisite: made first
    assert proc.stdout.index("train recipes/t_teacher.yaml") < proc.stdout.index("train recipes/t_student.yaml")
    assert "training choices: crop 2 px, erasing 0.5, cutmix 1, warm-up 1 epoch(s), weight decay 0.01, EMA 0.9, " \
           "distilled from build/t_teacher/model.keras (T 4, weight 0.5)" in proc.stdout
    history = json.loads((workspace / "build/t_student/history.json").read_text())
    assert len(history) == 2 and all(row["distillation_loss"] > 0 for row in history)
    from edgecnn.convert import converter as convert
    from edgecnn.zoo.keras_file import load_trained

    student = load_trained(workspace / "build/t_student/model.keras")
    teacher = load_trained(workspace / "build/t_teacher/model.keras")
    assert student.count_params() < teacher.count_params() and student.output_shape == (None, 10)
    import numpy as np

    from edgecnn.bench.measure import Loaded
    from edgecnn.bench.runtime import pick_runtime

    (workspace / "student.tflite").write_bytes(convert.to_fp32(student))      # the file computes what Keras does
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 1)).astype(np.float32)
    loaded = Loaded(workspace / "student.tflite", pick_runtime(), 1)
    assert np.allclose(np.concatenate([loaded.predict(x[None]) for x in images]), student(images).numpy(), atol=1e-4)
