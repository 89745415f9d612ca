"""The one place TensorFlow is imported: Keras 2 (tf_keras) is selected before TensorFlow loads.

tensorflow-model-optimization works only with Keras 2, so every module does
`from edgecnn.tf import tf, keras` and never imports `keras` or `tensorflow.keras` itself.
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["tf", "keras"]
