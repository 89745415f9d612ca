"""QuantizeConfigs of our own for layers tfmot's default 8-bit registry does not know.

Rescaling (our models' first layer), HardSwish/HardSigmoid (MobileNetV3) and Multiply (squeeze-excite)
have no weights to quantize; what QAT needs from them is the range of their output, learned with a
moving average the way the registry does for Add or ReLU (tensorflow/model-optimization #647, #546).
"""

import tensorflow_model_optimization as tfmot

from edgecnn.tf import keras

QuantizeConfig = tfmot.quantization.keras.QuantizeConfig
MovingAverageQuantizer = tfmot.quantization.keras.quantizers.MovingAverageQuantizer


@keras.utils.register_keras_serializable("edgecnn")
class OutputQuantizeConfig(QuantizeConfig):
    """No weights; the output quantized to 8 bits, asymmetric, per tensor."""

    def get_weights_and_quantizers(self, layer):
        return []

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        pass

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return [MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)]

    def get_config(self):
        return {}


def output_only_layers():
    """Layer classes that get OutputQuantizeConfig."""
    from edgecnn.zoo.layers import HardSigmoid, HardSwish

    return (keras.layers.Rescaling, keras.layers.Multiply, HardSwish, HardSigmoid)


def scope():
    """Everything needed to build or load a QAT model: tfmot's wrappers, our config, our layers."""
    from edgecnn.zoo.layers import HardSigmoid, HardSwish

    return tfmot.quantization.keras.quantize_scope(
        {"OutputQuantizeConfig": OutputQuantizeConfig, "HardSwish": HardSwish, "HardSigmoid": HardSigmoid})
