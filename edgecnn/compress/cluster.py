"""Weight clustering with tfmot: each selected layer's weights share K values (smaller when compressed).

The layers are those pruning would choose (prune.layers / only / skip): the first convolution, the
depthwise convolutions and the classifier keep their own values.
"""

import numpy as np
import tensorflow_model_optimization as tfmot

from edgecnn.compress.finetune import clone_with, finetune
from edgecnn.compress.prune import select_layers

clustering = tfmot.clustering.keras


def cluster(recipe, model, clusters, keep_zeros=False):
    """(model fine-tuned with `clusters` shared values per selected layer, wrappers stripped, history).

    `keep_zeros=True` is tfmot's sparsity-preserving clustering: a pruned model's zeros stay zero.
    """
    cfg, selection = recipe["cluster"], recipe["prune"]
    chosen = set(select_layers(model, selection["layers"], selection["only"], selection["skip"]))
    init = clustering.CentroidInitialization.KMEANS_PLUS_PLUS

    def make_model(steps):
        return clone_with(model, lambda layer, original: clustering.cluster_weights(
            layer, number_of_clusters=clusters, cluster_centroids_init=init,
            preserve_sparsity=keep_zeros) if layer.name in chosen else layer)

    clustered, history = finetune(recipe, make_model, cfg["epochs"], cfg["learning_rate"])
    return clustering.strip_clustering(clustered), history


def distinct_values(model, names):
    """Largest number of distinct kernel values among the named layers."""
    return max(len(np.unique(model.get_layer(n).kernel.numpy())) for n in names)
