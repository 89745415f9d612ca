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

An int8 file's uint8 output has 256 levels, so two classes now and then share the top score exactly. The Task
Library then reports the later class, edgecnn-bench's argmax and MediaPipe the earlier: the same scores, another
tie-break. So each image is also scored with ties broken as argmax breaks them (the lowest class index among the
top-scoring categories), and the images whose top score is shared are counted.
"""

import json
import sys


def _version(dist):
    from importlib import metadata

    return metadata.version(dist)


def top(categories):
    """(the category name reported first, the name argmax would pick: the lowest index among the categories that
    share the top score, whether the top score is shared). `categories`: the runtime's, best first."""
    best = max(c.score for c in categories)
    tied = sorted((c for c in categories if c.score == best), key=lambda c: c.index)
    return categories[0].category_name, tied[0].category_name, len(tied) > 1


def task_library(model):
    """image -> top(all categories), through the Task Library."""
    import numpy as np
    from tflite_support.task import vision

    classifier = vision.ImageClassifier.create_from_file(model)
    return lambda image: top(classifier.classify(vision.TensorImage.create_from_array(
        np.ascontiguousarray(image))).classifications[0].categories)


def mediapipe(model):
    """image -> top(all categories), through MediaPipe Tasks (images as SRGB, 8 bits a channel)."""
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python import BaseOptions, vision

    classifier = vision.ImageClassifier.create_from_options(
        vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=model), max_results=-1))
    return lambda image: top(classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(
        image, dtype=np.uint8))).classifications[0].categories)


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
    right, right_argmax, ties, seen = 0, 0, 0, set()
    for image, label in zip(x, y):
        name, argmax_name, tied = classify(image)
        seen.add(name)
        right += int(name == names[label])
        right_argmax += int(argmax_name == names[label])
        ties += int(tied)
    print(json.dumps({"top1": right / len(y), "top1_argmax_ties": right_argmax / len(y), "ties": ties,
                      "samples": int(len(y)), "categories": sorted(seen), "version": _version(dist)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
