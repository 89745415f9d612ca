"""Conversion to TFLite (`edgecnn convert`, build/<r>/<variant>.tflite): converter.py drives the TFLite
converter (fp32, fp16, dynamic, int8, int16x8; grouped convolutions native or split); fold.py folds the input
scaling into the stem convolution and fold_check.py measures it; gpu_compat.py asks TensorFlow's GPU-delegate
analyzer; stage.py is the step Make runs (and quant-report). The variant names' grammar is edgecnn/variants.py."""
