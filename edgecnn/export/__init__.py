"""Embedding .tflite files in apps (`edgecnn export`): C/C++ arrays for microcontrollers, Android and iOS
bundles with labels and a description of the model's inputs and outputs."""
