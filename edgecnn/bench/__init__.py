"""The on-device benchmark. Imports numpy and a TFLite runtime only, never TensorFlow, so this folder
can be copied to a phone, a Pi or a board that has just `numpy` and `ai-edge-litert` / `tflite-runtime`.
"""
