"""Network in Network (Lin et al. 2014), the CIFAR-10 model: no dense layers at all.

Three "mlpconv" layers (a convolution followed by two 1x1 convolutions, the per-pixel MLP) and, instead
of fully connected layers, a last 1x1 convolution with one channel per class averaged over the image
(global average pooling), the classifier head that GoogLeNet, ResNet and the mobile networks took up.
Widths from the authors' released CIFAR-10 configuration (192-160-96, 192-192-192, 192-192-classes;
the paper gives no widths): conv 5x5, max pool 3x3/2, dropout, conv 5x5, average pool 3x3/2,
dropout, conv 3x3, with ReLU after every convolution, the classifier's included, as released. The
pools round up (Caffe), so 32x32 -> 16 -> 8. At 32x32x3 with 10 classes: 966,986 parameters, counted
from that configuration, and 222 M multiply-adds counted from the graph (the paper publishes neither).
"""

from edgecnn.tf import keras
from edgecnn.zoo.layers import check_min_size, conv_relu, model_name, pixel_input
from edgecnn.zoo.registry import register_model

layers = keras.layers

# (kernel, widths) of each mlpconv layer; the last width is the class count
MLPCONV = ((5, (192, 160, 96)), (5, (192, 192, 192)), (3, (192, 192, None)))


@register_model(family="nin", role="baseline", reference_input=(32, 32, 3), reference_classes=10)
def nin(input_shape=(32, 32, 3), classes=10, weights=None, dropout=0.5, batch_norm=False):
    """NiN. batch_norm: a BatchNormalization after every convolution but the classifier (see conv_relu)."""
    check_min_size("nin", input_shape, 32)
    inputs, x = pixel_input(input_shape)
    for block, (kernel, widths) in enumerate(MLPCONV, start=1):
        x = conv_relu(x, widths[0], kernel, f"conv{block}", batch_norm=batch_norm)
        for i, width in enumerate(widths[1:], start=2 * block - 1):
            classifier = width is None
            x = conv_relu(x, classes if classifier else width, 1, f"cccp{i}", batch_norm=batch_norm and not classifier)
        if block < 3:
            pool = layers.MaxPooling2D if block == 1 else layers.AveragePooling2D
            x = pool(3, 2, padding="same", name=f"pool{block}")(x)
            x = layers.Dropout(dropout, name=f"drop{block}")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=model_name("nin", weights))
