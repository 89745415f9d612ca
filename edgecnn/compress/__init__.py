"""Compression with tensorflow-model-optimization: pruning, quantization-aware training, clustering.

Each produces a Keras model (build/<r>/<variant>.keras) that convert.py turns into .tflite files;
choose.py measures the files and picks the fastest within an accuracy budget.
"""
