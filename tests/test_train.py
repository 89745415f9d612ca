import json

from edgecnn.train import EpochLog, make_optimizer, pick_strategy
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
    strategy = pick_strategy()
    assert strategy.num_replicas_in_sync == max(1, len(tf.config.list_logical_devices("GPU")))
    cfg = {"learning_rate": 0.01, "schedule": "cosine", "epochs": 2, "optimizer": "sgd"}
    opt = make_optimizer(cfg, steps_per_epoch=10)
    assert isinstance(opt, keras.optimizers.SGD)
    schedule = opt.get_config()["learning_rate"]
    assert schedule["class_name"] == "CosineDecay"
    assert schedule["config"]["initial_learning_rate"] == 0.01 and schedule["config"]["decay_steps"] == 20
