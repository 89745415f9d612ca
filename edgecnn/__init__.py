"""edgecnn: from a recipe to a TFLite file that runs on a phone, a Pi or a microcontroller.

Importing this package is cheap on purpose: TensorFlow is imported only by the modules that need it
(through `edgecnn.tf`), never by `edgecnn.bench`, which runs on devices without TensorFlow.
"""

__version__ = "0.1.0"
