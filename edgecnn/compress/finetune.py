"""Fine-tuning a compressed model on the recipe's data, under the same tf.distribute strategy as training."""

import os
import sys

from edgecnn.data.datasets import load_splits
from edgecnn.data.pipeline import make_dataset
from edgecnn.tf import keras
from edgecnn.train import distribute, sizing


def finetune(recipe, make_model, epochs, learning_rate, callbacks=(), verbose=None):
    """Build the model with `make_model(steps_per_epoch)` inside the strategy's scope, fit it, return (model, history rows).

    The optimizer and schedule are train's, with the step's own epochs and learning rate. A decaying
    rate matters: at a constant one, the demo's 6-epoch pruning ended on a bad epoch (pruned-50-int8
    2.5 points below fp32, further down than pruned-80-int8), validation accuracy swinging ~1.5 points
    from epoch to epoch.
    """
    from edgecnn.train.fit import make_optimizer, plain

    keras.utils.set_random_seed(recipe["train"]["seed"])
    data = load_splits(recipe["dataset"], recipe["train"]["seed"])
    cfg, _ = sizing.resolve(plain(recipe["train"]), len(data.x_train))   # training's batch and augmentation
    # the recipe's strategy; multi-worker needs a cluster, so a single process fine-tunes on its own devices
    name = "auto" if cfg["strategy"] == "multi-worker" and "TF_CONFIG" not in os.environ else cfg["strategy"]
    strategy = distribute.make_strategy(name)
    batch, lr = distribute.scaled({**cfg, "learning_rate": learning_rate}, strategy.num_replicas_in_sync)
    steps = -(-len(data.x_train) // batch)
    with strategy.scope():
        model = make_model(steps)
        optimizer = make_optimizer({**cfg, "epochs": epochs, "learning_rate": lr}, steps)
        model.compile(optimizer=optimizer,
                      loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    train_ds = make_dataset(data.x_train, data.y_train, batch, True, cfg["augmentation"], cfg["seed"])
    val_ds = make_dataset(data.x_val, data.y_val, 512, False)
    fit = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=list(callbacks),
                    verbose=(1 if sys.stdout.isatty() else 2) if verbose is None else verbose)
    rows = [{"epoch": i + 1, **{k: float(v[i]) for k, v in fit.history.items()}} for i in range(epochs)]
    return model, rows



def copy_layer(layer):
    """A new layer with the same config and weights (its variables created in the current strategy scope).

    Wrappers such as tfmot's clustering read the weights when they are built, so they must be in place
    before wrapping; cloning a model this way keeps every trained value.
    """
    new = layer.__class__.from_config(layer.get_config())
    if layer.weights:
        new.build(layer.input_shape)
        new.set_weights(layer.get_weights())
    return new


def clone_with(model, wrap):
    """The model rebuilt layer by layer from copies; `wrap(layer_copy, original)` may wrap any of them.
    Grouped convolutions come back native first: tfmot knows Conv2D(groups=g), not SplitGroupConv2D."""
    from edgecnn.zoo.layers import grouped_form

    model = grouped_form(model, "native")
    return keras.models.clone_model(model, clone_function=lambda layer: wrap(copy_layer(layer), layer))
