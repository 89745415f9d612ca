"""Channel pruning (`slim-NN`): whole filters removed, so the model is narrower on every runtime (fewer
multiply-adds, a smaller arena, less time), where magnitude pruning only leaves zeros that gzip compresses.

Which filters go (slim.criterion):
    l1      the L1 norm of each filter's weights (Li et al. 2017, "Pruning Filters for Efficient ConvNets");
            needs nothing but the weights, so it works for every layer
    bn      the |scale| of the batch norm after the filter (Liu et al. 2017, "Network Slimming"); layers with
            no batch norm after them (a squeeze-excite convolution, a classifier's hidden layer) use L1
    l1+bn   both, each divided by its layer's mean, summed
The default is l1: Network Slimming trains the scales with an L1 penalty first so that they separate; on a
model trained without it, as every recipe's is, the scales are less telling than the weights.

The graph is read as channel spaces: the channels a convolution or dense layer makes, carried unchanged
through batch norm, activations, pooling, padding, dropout and depthwise convolutions, and tied together by
element-wise layers (a residual Add, squeeze-excite's Multiply), so layers tied by an add keep one channel
set. A concatenation's channels are its inputs' in order; a Flatten's are its input's at every position.
Every space loses NN % of its channels (at least slim.min_channels kept; the count kept rounded to a multiple of
slim.round_to, 8 by default, since XNNPACK's int8 kernels work in tiles of 8 or 16 channels and a partial tile
costs a whole one), chosen by the sum of its producers' scores, except the input's, the output's and those of grouped convolutions, which keep all. A layer whose
channel mapping is unknown (Lambda, a custom layer) is refused by name: nothing is guessed.

The narrower Keras model is rebuilt from the original's config with the kept weights; before fine-tuning its
outputs equal the original's with the removed channels zeroed (`masked`). Then it is fine-tuned with
slim.epochs and slim.learning_rate, as the other compression steps are.
"""

import copy
from dataclasses import dataclass, field

import numpy as np

from edgecnn.errors import UserError

PRODUCERS = ("Conv2D", "SeparableConv2D", "Dense")
# layers whose output channel c is computed from input channel c alone (their weights, if any, per channel)
PRESERVING = ("BatchNormalization", "DepthwiseConv2D", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax",
              "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout", "MaxPooling2D",
              "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "Cropping2D",
              "UpSampling2D", "Rescaling", "Normalization", "HardSigmoid", "HardSwish")
TIES = ("Add", "Subtract", "Multiply", "Maximum", "Minimum", "Average")


@dataclass
class Layout:
    """A tensor's last axis as channel spaces in order; `repeat` > 1 after a Flatten (index p * width + c)."""
    segments: list                      # [(space, size)]
    repeat: int = 1

    @property
    def width(self):
        return sum(size for _, size in self.segments)

    def kept(self, keep):
        """Indices of the kept entries of the last axis, given kept channels per space."""
        parts, offset = [], 0
        for space, size in self.segments:
            parts.append(offset + keep(space))
            offset += size
        base = np.concatenate(parts) if parts else np.zeros(0, int)
        return np.concatenate([p * self.width + base for p in range(self.repeat)]) if self.repeat > 1 else base


@dataclass
class Plan:
    """What `plan` decided: kept channels per space, the layouts of every layer's input and output."""
    inputs: dict                        # layer name -> [Layout] of its inputs
    outputs: dict                       # layer name -> Layout
    keep: dict                          # root space -> sorted kept channel indices
    sizes: dict                         # root space -> channels in the original
    parent: dict = field(default_factory=dict)

    def root(self, space):
        while self.parent.get(space, space) != space:
            space = self.parent[space]
        return space

    def kept(self, space):
        root = self.root(space)
        return self.keep.get(root, np.arange(self.sizes[root]))

    def removed_share(self):
        """Channels removed over all spaces, as a share of those in the pruned spaces."""
        total = sum(self.sizes[r] for r in self.keep)
        return 1 - sum(len(k) for k in self.keep.values()) / max(1, total)


def _inbound(layer_cfg):
    nodes = layer_cfg["inbound_nodes"]
    if not nodes:
        return []
    if len(nodes) > 1:
        raise UserError(f"slim: layer '{layer_cfg['config']['name']}' is called {len(nodes)} times (a shared layer); "
                        f"a narrower model cannot share it. Use pruned-NN (magnitude pruning) for this model.")
    node = nodes[0]
    if isinstance(node, dict):                                  # Keras 3 style
        return [arg["config"]["keras_history"][0] for arg in node.get("args", []) if isinstance(arg, dict)]
    return [entry[0] for entry in node]


def refuse(name, cls):
    return UserError(f"slim: layer '{name}' ({cls}) cannot be narrowed: how its channels map is not known; "
                     f"remove or replace it, or use pruned-NN (magnitude pruning), which keeps every shape.")


def functional(model):
    """A Sequential model as the functional graph it holds (its layers and weights), so its config has the edges."""
    from edgecnn.tf import keras

    if isinstance(model, keras.Sequential):
        return keras.Model(model.inputs, model.outputs, name=model.name)
    return model


def plan(model, level, criterion="l1", min_channels=8, round_to=8):
    """Which channels of each space to keep when `level` % are removed; UserError naming a layer that forbids it."""
    model = functional(model)
    config = model.get_config()
    parent, sizes, fixed = {}, {}, set()

    def new_space(size, is_fixed=False):
        space = len(sizes)
        sizes[space] = size
        parent[space] = space
        if is_fixed:
            fixed.add(space)
        return space

    def find(s):
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    def union(a, b):
        a, b = find(a), find(b)
        if a != b:
            parent[b] = a
            if b in fixed:
                fixed.add(a)

    inputs, outputs, producers = {}, {}, {}
    for layer_cfg in config["layers"]:
        cls, name = layer_cfg["class_name"].split(">")[-1], layer_cfg["config"]["name"]
        layer = model.get_layer(name)
        ins = [outputs[n] for n in _inbound(layer_cfg)]
        inputs[name] = ins
        if cls == "InputLayer":
            shape = layer.output_shape[0] if isinstance(layer.output_shape, list) else layer.output_shape
            outputs[name] = Layout([(new_space(int(shape[-1]), True), int(shape[-1]))])
        elif cls in PRODUCERS:
            width = layer.units if cls == "Dense" else layer.filters
            grouped = getattr(layer, "groups", 1) > 1 or getattr(layer, "depth_multiplier", 1) > 1
            space = new_space(int(width), grouped)
            if grouped:
                fixed.update(find(s) for s, _ in ins[0].segments)
            outputs[name] = Layout([(space, int(width))])
            producers.setdefault(space, []).append(layer)
        elif cls in PRESERVING:
            if cls == "Softmax" or layer_cfg["config"].get("activation") == "softmax":    # over the channels
                fixed.update(find(s) for s, _ in ins[0].segments)
            if cls == "DepthwiseConv2D" and layer.depth_multiplier > 1:
                fixed.update(find(s) for s, _ in ins[0].segments)
                outputs[name] = Layout([(new_space(int(layer.output_shape[-1]), True), int(layer.output_shape[-1]))])
            else:
                outputs[name] = ins[0]
        elif cls in TIES:
            first = ins[0]
            for other in ins[1:]:
                if [size for _, size in other.segments] == [size for _, size in first.segments] and \
                        other.repeat == first.repeat:
                    for (a, _), (b, _) in zip(first.segments, other.segments):
                        union(a, b)
                else:                                           # a broadcast of another width: keep both whole
                    fixed.update(find(s) for lay in (first, other) for s, _ in lay.segments)
            outputs[name] = first
        elif cls == "Concatenate" and layer.axis in (-1, len(layer.output_shape) - 1):
            outputs[name] = Layout([seg for lay in ins for seg in lay.segments])
        elif cls == "Flatten":
            shape = layer.input_shape
            outputs[name] = Layout(ins[0].segments, int(np.prod(shape[1:-1])) if len(shape) > 2 else 1)
        else:
            raise refuse(name, cls)
    for name in config["output_layers"]:
        fixed.update(find(s) for s, _ in outputs[name[0]].segments)
    fixed = {find(s) for s in fixed}

    # scores: each space's producers, each layer's scores divided by their mean, summed
    followers = {}
    for layer_cfg in config["layers"]:
        cls = layer_cfg["class_name"].split(">")[-1]
        names = _inbound(layer_cfg)
        if cls == "BatchNormalization" and len(names) == 1:
            followers[names[0]] = model.get_layer(layer_cfg["config"]["name"])
    scores = {}
    for space, layers in producers.items():
        root = find(space)
        if root in fixed:
            continue
        for layer in layers:
            kernel = layer.get_weights()[1 if type(layer).__name__ == "SeparableConv2D" else 0]
            l1 = np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(0)
            bn = followers.get(layer.name)
            scale = np.abs(bn.get_weights()[0]) if bn is not None and bn.scale else None
            parts = {"l1": [l1], "bn": [scale if scale is not None else l1],
                     "l1+bn": [l1] + ([scale] if scale is not None else [])}[criterion]
            for part in parts:
                scores[root] = scores.get(root, 0) + part / max(float(part.mean()), 1e-12)

    keep = {}
    for root, score in scores.items():
        size = sizes[root]
        count = max(min(min_channels, size), int(round(size * (1 - level / 100))))
        if round_to > 1 and count > round_to:       # whole tiles of the int8 kernels: a 67-channel layer costs
            count = int(round(count / round_to)) * round_to       # what a 80-channel one does
        if count < size:
            keep[root] = np.sort(np.argsort(-score, kind="stable")[:count])
    if not keep:
        widest = max((sizes[r] for r in scores), default=0)
        raise UserError(f"slim-{level}: no layer of the model is wider than slim.min_channels ({min_channels}) can "
                        f"take {level} % from (the widest prunable has {widest} channels); nothing to remove: use "
                        f"a wider source or lower slim.min_channels.")
    compact = {s: find(s) for s in sizes}
    return Plan(inputs, outputs, keep, sizes, compact)


def _slice_weights(layer, cls, kept_in, kept_out):
    """The layer's weights with only the kept input (and, for producers, output) channels."""
    weights = layer.get_weights()
    if getattr(layer, "groups", 1) > 1:             # a grouped convolution's spaces are kept whole (plan)
        return weights
    if cls in ("Conv2D", "Dense"):
        kernel = weights[0]
        kernel = kernel[..., kept_in, :] if cls == "Dense" or kernel.ndim == 2 else kernel[:, :, kept_in, :]
        return [kernel[..., kept_out]] + [w[kept_out] for w in weights[1:]]
    if cls == "SeparableConv2D":
        depthwise, pointwise, *bias = weights
        return [depthwise[:, :, kept_in, :], pointwise[:, :, kept_in, :][..., kept_out]] + [b[kept_out] for b in bias]
    if cls == "DepthwiseConv2D":
        return [weights[0][:, :, kept_in, :]] + [w[kept_in] for w in weights[1:]]
    width = layer.input_shape[-1] if not isinstance(layer.input_shape, list) else layer.input_shape[0][-1]
    return [w[..., kept_in] if w.ndim and w.shape[-1] == width else w for w in weights]


def narrow(model, the_plan):
    """The narrower model: the original's config with fewer filters, the kept weights in place."""
    from edgecnn.tf import keras

    model = functional(model)
    config = copy.deepcopy(model.get_config())
    for layer_cfg in config["layers"]:
        cls, cfg = layer_cfg["class_name"].split(">")[-1], layer_cfg["config"]
        if cls in PRODUCERS:
            out = the_plan.outputs[cfg["name"]]
            cfg["units" if cls == "Dense" else "filters"] = len(out.kept(the_plan.kept))
    slim = keras.Model.from_config(config)
    for layer in model.layers:
        if not layer.weights:
            continue
        cls = type(layer).__name__
        ins = the_plan.inputs[layer.name]
        kept_in = ins[0].kept(the_plan.kept) if ins else None
        kept_out = the_plan.outputs[layer.name].kept(the_plan.kept)
        slim.get_layer(layer.name).set_weights(_slice_weights(layer, cls, kept_in, kept_out))
    return slim


def masked(model, the_plan):
    """A copy of the original whose layers that mix channels (convolutions, dense) read nothing from the removed
    channels: what the narrower model computes, at the original's width (the tests hold the two equal)."""
    from edgecnn.tf import keras

    model = functional(model)
    copy_ = keras.Model.from_config(model.get_config())
    copy_.set_weights(model.get_weights())
    for layer in copy_.layers:
        cls = type(layer).__name__
        ins = the_plan.inputs.get(layer.name)
        if cls not in PRODUCERS or not ins:
            continue
        removed = np.setdiff1d(np.arange(ins[0].width * ins[0].repeat), ins[0].kept(the_plan.kept))
        weights = layer.get_weights()
        index = 1 if cls == "SeparableConv2D" else 0
        if weights[index].ndim == 2:
            weights[index][removed, :] = 0
        else:
            weights[index][:, :, removed, :] = 0
        layer.set_weights(weights)
    return copy_


def slim(recipe, model, level):
    """The model with `level` % of its channels removed, fine-tuned; (model, history rows, info)."""
    from edgecnn.compress.finetune import finetune
    from edgecnn.zoo.layers import grouped_form
    from edgecnn.zoo.macs import count_macs

    cfg = recipe["slim"]
    model = grouped_form(model, "native")
    the_plan = plan(model, level, cfg["criterion"], cfg["min_channels"], cfg["round_to"])
    tuned, history = finetune(recipe, lambda steps: narrow(model, the_plan), cfg["epochs"], cfg["learning_rate"])
    info = {"level": level, "criterion": cfg["criterion"], "min_channels": cfg["min_channels"], "round_to": cfg["round_to"],
            "channels_removed": the_plan.removed_share(),
            "macs": [int(count_macs(model)), int(count_macs(tuned))],
            "params": [int(model.count_params()), int(tuned.count_params())]}
    return tuned, history, info
