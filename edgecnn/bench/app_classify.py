"""Classify a labelled .npz set the way an app does, through an app runtime's image classifier:

    python app_classify.py task-library MODEL.tflite SET.npz     the TFLite Task Library (tflite-support's
                                                                 ImageClassifier, the C++ Task Library of
                                                                 Android's org.tensorflow.lite.task.vision)
    python app_classify.py mediapipe MODEL.tflite SET.npz        MediaPipe Tasks' ImageClassifier, the Task
                                                                 Library's successor on Android, iOS and the web

Prints one JSON object. Each runtime runs in a virtual env of its own (the Task Library needs numpy<2 and
protobuf<4; MediaPipe brings OpenCV; `make app-check` makes both), so this imports numpy and that runtime only,
and is run as a script, not through the edgecnn package. A result counts as right when the category name the
classifier reports, read from the model's metadata, is the set's class name: the labels travel with the file.
"""

import json
import sys


def _version(dist):
    from importlib import metadata

    return metadata.version(dist)


def task_library(model):
    """image -> top category name, through the Task Library."""
    import numpy as np
    from tflite_support.task import vision

    classifier = vision.ImageClassifier.create_from_file(model)
    return lambda image: classifier.classify(vision.TensorImage.create_from_array(
        np.ascontiguousarray(image))).classifications[0].categories[0].category_name


def mediapipe(model):
    """image -> top category name, through MediaPipe Tasks (images as SRGB, 8 bits a channel)."""
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python import BaseOptions, vision

    classifier = vision.ImageClassifier.create_from_options(
        vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=model), max_results=1))
    return lambda image: classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(
        image, dtype=np.uint8))).classifications[0].categories[0].category_name


RUNTIMES = {"task-library": (task_library, "tflite-support"), "mediapipe": (mediapipe, "mediapipe")}


def main(argv):
    runtime, model, data = argv
    import numpy as np

    with np.load(data, allow_pickle=False) as f:
        x, y, names = f["x"], f["y"], [str(n) for n in f["class_names"]]
    try:
        make, dist = RUNTIMES[runtime]
        classify = make(model)
    except (RuntimeError, ValueError) as e:
        print(json.dumps({"error": str(e).strip().splitlines()[-1]}))
        return 3
    right, seen = 0, set()
    for image, label in zip(x, y):
        name = classify(image)
        seen.add(name)
        right += int(name == names[label])
    print(json.dumps({"top1": right / len(y), "samples": int(len(y)), "categories": sorted(seen),
                      "version": _version(dist)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
