"""Data: the data sets a recipe names (datasets.py: Fashion-MNIST from its idx files, or class folders of a
user's images), their tf.data pipelines and training-time regularizers, the calibration images of int8
conversion, and build/<r>/testset.npz (testset.py) that the benchmark measures accuracy on."""
