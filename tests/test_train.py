import json
import numpy as np

from edgecnn.train.distribute import make_strategy
from edgecnn.zoo.keras_file import load_trained
from edgecnn.train.fit import EpochLog, make_loss, make_optimizer, recalibrate_bn
from edgecnn.tf import keras, tf


def test_epoch_log_is_cut_back_to_the_restored_epoch(tmp_path):
    """A row whose checkpoint never landed is dropped on resume; that epoch is then logged once."""
    path = tmp_path / "history.json"
    path.write_text(json.dumps([{"epoch": 1, "run": "a"}, {"epoch": 2, "run": "a"}]))
    log = EpochLog(path)
    log.on_epoch_begin(1)                      # BackupAndRestore restored 1 finished epoch
    log.on_epoch_end(1, {"loss": 0.5})
    log.on_epoch_begin(2)                      # later epochs of the same run leave the log alone
    assert [(r["epoch"], r["run"]) for r in json.loads(path.read_text())] == [(1, "a"), (2, log.run)]


def test_strategy_and_optimizer():
    strategy = make_strategy("auto")
    assert strategy.num_replicas_in_sync == max(1, len(tf.config.list_logical_devices("GPU")))
    cfg = {"learning_rate": 0.01, "schedule": "cosine", "epochs": 2, "optimizer": "sgd"}
    opt = make_optimizer(cfg, steps_per_epoch=10)
    assert isinstance(opt, keras.optimizers.SGD)
    schedule = opt.get_config()["learning_rate"]
    assert schedule["class_name"] == "CosineDecay"
    assert schedule["config"]["initial_learning_rate"] == 0.01 and schedule["config"]["decay_steps"] == 20


def test_auxiliary_heads_train_and_convert_without_them(tmp_path):
    """GoogLeNet trains with three outputs (labels repeated) and converts with its main output only."""
    import numpy as np

    from edgecnn.convert import converter as convert
    from edgecnn.data.pipeline import make_dataset
    from edgecnn.zoo import build_model

    model = build_model("googlenet", (32, 32, 1), 10, {"aux_classifiers": True})
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(), loss_weights=[1.0, 0.3, 0.3])
    x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 1)).astype(np.uint8)
    y = np.arange(8) % 10
    history = model.fit(make_dataset(x, y, 4, True, outputs=3), epochs=1, verbose=0)
    assert {"predictions_loss", "aux1_predictions_loss", "aux2_predictions_loss"} <= set(history.history)
    from edgecnn.bench.runtime import pick_runtime

    interp = pick_runtime().interpreter_class(model_content=convert.to_fp32(model))
    assert len(interp.get_output_details()) == 1


def test_custom_layers_reload_in_safe_mode(tmp_path):
    from edgecnn.zoo.keras_file import load_trained
    from edgecnn.zoo import build_model

    model = build_model("mobilenet_v3_small", (32, 32, 1), 10)
    model.save(tmp_path / "m.keras")
    again = load_trained(tmp_path / "m.keras")
    assert again.count_params() == model.count_params()
    assert "HardSwish" in {type(layer).__name__ for layer in again.layers}


def test_bn_recalibration_averages_the_batch_statistics():
    import numpy as np

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.BatchNormalization()(inputs))
    x = np.random.default_rng(0).normal(50, 3, (700, 4)).astype("float32")
    assert recalibrate_bn(model, x, 10, 64) == 10                   # 10 of the 10 whole batches there are
    bn = model.layers[1]
    np.testing.assert_allclose(bn.moving_mean.numpy(), x[:640].reshape(10, 64, 4).mean(1).mean(0), rtol=1e-5)
    assert bn.momentum == 0.99                                         # put back


def test_label_smoothing_reaches_the_loss_and_the_model_still_saves(tmp_path):
    """train.label_smoothing: Keras' smoothed categorical cross-entropy on the integer labels; 0 is plain."""
    import numpy as np

    y = np.array([[0], [2]])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], "float32")
    assert isinstance(make_loss(0.0, 3), keras.losses.SparseCategoricalCrossentropy)
    smoothed = float(tf.reduce_mean(make_loss(0.1, 3)(y, p)))
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(np.eye(3)[[0, 2]], p)
    plain = keras.losses.SparseCategoricalCrossentropy()(y, p)
    assert abs(smoothed - float(expected)) < 1e-6 and abs(smoothed - float(plain)) > 0.05

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile("adam", make_loss(0.1, 3), metrics=["accuracy"])
    history = model.fit(np.ones((8, 4), "float32"), np.arange(8) % 3, epochs=1, verbose=0)
    assert 0 < history.history["accuracy"][0] <= 1                   # the metric reads the integer labels
    model.save(tmp_path / "m.keras")
    assert load_trained(tmp_path / "m.keras").count_params() == model.count_params()


def test_precision_runs_train_in_bfloat16_and_report_top1_against_float32(workspace, monkeypatch, capsys):
    """`make cpu-precision` on a budget written here (LeNet-5, 3,000 images): the mixed_bfloat16 run computes in
    bfloat16 and leaves float32 weights, both learn (top-1 on all 10,000 test images far above chance), the table
    shows each gap to float32 from the same seed, a second run reuses what the same code made, and a mode or model
    it does not measure is one sentence and exit 2."""
    import yaml

    from edgecnn.study import precision
    from edgecnn.train import fit
    from test_speed import cells

    base = workspace / "recipes" / "_compare.yaml"
    budget = yaml.safe_load(base.read_text())
    budget["dataset"]["train_samples"] = 3000
    budget["train"]["bn_recalibration"] = 10
    base.write_text(yaml.safe_dump(budget))
    monkeypatch.chdir(workspace)
    built = []
    make_model = fit.make_model

    def spy(*args, **kwargs):
        model = make_model(*args, **kwargs)
        built.append({layer.compute_dtype for layer in model.layers if layer.weights})
        return model

    monkeypatch.setattr(fit, "make_model", spy)
    assert precision.main(["lenet5"]) == 0
    # each run builds its training model, then the float32 copy model.keras holds
    assert built == [{"float32"}, {"float32"}, {"bfloat16", "float32"}, {"float32"}]
    assert keras.mixed_precision.global_policy().name == "float32"
    report = json.loads((workspace / "reports/cpu_precision.json").read_text())
    f32, bf16 = report["rows"]
    assert (f32["mode"], bf16["mode"]) == ("float32", "mixed_bfloat16")
    for r in (f32, bf16):
        assert (r["test_images"], r["train_images"]) == (10_000, 3000) and r["top1"] > 0.5 and r["epochs"] == 1 and len(r["epoch_s"]) == 1
        saved = load_trained(workspace / r["build"] / "model.keras")
        assert {w.dtype for w in saved.get_weights()} == {np.dtype("float32")}
    md = (workspace / "reports/cpu_precision.md").read_text()
    assert cells(md, "lenet5", "mixed_bfloat16", "0")[3] == f"{100 * bf16['top1']:.2f} %"
    assert cells(md, "lenet5", "mixed_bfloat16", "0")[5] == f"{100 * (bf16['top1'] - f32['top1']):+.2f}"
    assert "1 epoch(s) of 3,000 images" in md and "fingerprint" in md and "recipes/compare_lenet5.yaml" in (workspace / "reports/cpu_precision.provenance.json").read_text()

    assert "- lenet5:" not in md                        # one seed: no verdict on noise
    rows = [{**r, "seed": 1, "top1": r["top1"] + 0.01} for r in report["rows"]]     # a second seed, 1 point up
    assert precision.verdict("lenet5", report["rows"] + rows) == (
        f"lenet5: mixed_bfloat16 {100 * (bf16['top1'] - f32['top1']):+.2f} points against float32 on average over "
        f"seeds 0, 1; the seeds themselves differ by up to 1.00 points, so the gap is "
        + ("within" if abs(bf16["top1"] - f32["top1"]) <= 0.01 else "larger than") + " run-to-run noise.")

    capsys.readouterr()
    assert precision.main(["lenet5", "--modes", "mixed_bfloat16"]) == 0
    assert len(built) == 4 and "made before" in capsys.readouterr().out
    assert precision.main(["lenet5", "--modes", "xla"]) == 2
    assert precision.main(["resnet152"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("cpu-precision: ") for line in err)
    assert "xla is not a training policy" in err[0] and "no recipes/compare_resnet152.yaml" in err[1]
