"""Quantization-aware training with tfmot, for every model in the zoo: never a crash, a report instead.

Each layer is annotated the way tfmot's default 8-bit registry knows (BatchNorm is folded into the
convolution before it), or with OutputQuantizeConfig for the weightless layers the registry lacks
(Rescaling, Multiply, HardSwish, HardSigmoid) and for a BatchNorm that follows no convolution
(pre-activation blocks: DenseNet, WRN): its output is quantized, its scale and offset stay float
during QAT and become an int8 MUL + ADD in the file. A SeparableConv2D (Xception), which the registry
does not list, is annotated too: tfmot's own transform rewrites it as DepthwiseConv2D + Conv2D. Any
other layer stays float and is named in the report.
`keep_zeros=True` uses tfmot's collaborative scheme that keeps a pruned model's zeros through QAT.
"""

import tensorflow_model_optimization as tfmot

from edgecnn.compress.finetune import clone_with, finetune
from edgecnn.compress.quant_configs import OutputQuantizeConfig, output_only_layers, scope
from edgecnn.errors import UserError
from edgecnn.tf import keras

quantize = tfmot.quantization.keras


def _folds(batch_norm):
    """Whether tfmot folds this BatchNormalization: it follows a convolution directly (a SeparableConv2D's
    after tfmot's rewrite: its pointwise Conv2D)."""
    before = batch_norm._inbound_nodes[0].inbound_layers
    return type(before) in (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)


def annotate(model):
    """(annotated model, names of the layers that stay float)."""
    registry = quantize.default_8bit.Default8BitQuantizeRegistry()
    stays_float = []

    def annotate_layer(layer, original):
        if isinstance(layer, keras.layers.InputLayer):
            return layer
        if isinstance(layer, keras.layers.BatchNormalization) and not _folds(original):
            return quantize.quantize_annotate_layer(layer, OutputQuantizeConfig())
        folded_or_rewritten = (keras.layers.BatchNormalization, keras.layers.SeparableConv2D)
        if registry.supports(layer) or isinstance(layer, folded_or_rewritten):
            return quantize.quantize_annotate_layer(layer)
        if isinstance(layer, output_only_layers()):
            return quantize.quantize_annotate_layer(layer, OutputQuantizeConfig())
        stays_float.append(f"{layer.name} ({type(layer).__name__})")
        return layer

    return clone_with(model, annotate_layer), stays_float


def quantize_aware(model, keep_zeros=False):
    """(QAT model, float layer names); UserError naming the layer if tfmot cannot apply the annotation."""
    annotated, stays_float = annotate(model)
    scheme = (tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme() if keep_zeros
              else quantize.default_8bit.Default8BitQuantizeScheme())
    try:
        with scope():
            return quantize.quantize_apply(annotated, scheme), stays_float
    except (ValueError, RuntimeError, TypeError) as e:
        raise UserError(f"tfmot could not apply quantization-aware training to {model.name}: "
                        f"{str(e).splitlines()[0]}") from None


def qat(recipe, model, keep_zeros=False):
    """The model fine-tuned with fake quantization; returns (QAT model, history, float layer names)."""
    cfg = recipe["qat"]
    stays_float = []

    def make_model(steps):
        qmodel, floats = quantize_aware(model, keep_zeros)
        stays_float.extend(floats)
        return qmodel

    with scope():
        qmodel, history = finetune(recipe, make_model, cfg["epochs"], cfg["learning_rate"])
    return qmodel, history, stays_float


def load_qat(path):
    with scope():
        return keras.models.load_model(path, compile=False)
