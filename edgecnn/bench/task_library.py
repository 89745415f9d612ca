"""Classify a labelled .npz set through the TFLite Task Library (tflite-support's ImageClassifier, the same
C++ Task Library as Android's org.tensorflow.lite.task.vision), the way an app does.

    python task_library.py MODEL.tflite SET.npz        (prints one JSON object)

Runs in a virtual env of its own (numpy<2, protobuf<4, tflite-support; `make app-check` makes it), so it
imports numpy and tflite_support only, and is run as a script, not through the edgecnn package. A result
counts as right when the category name the classifier reports, read from the model's metadata, is the
set's class name: the labels travel with the file.
"""

import json
import sys


def main(argv):
    model, data = argv
    import numpy as np
    from tflite_support.task import vision

    with np.load(data, allow_pickle=False) as f:
        x, y, names = f["x"], f["y"], [str(n) for n in f["class_names"]]
    try:
        classifier = vision.ImageClassifier.create_from_file(model)
    except (RuntimeError, ValueError) as e:
        print(json.dumps({"error": str(e).strip().splitlines()[-1]}))
        return 3
    right, seen = 0, set()
    for image, label in zip(x, y):
        result = classifier.classify(vision.TensorImage.create_from_array(np.ascontiguousarray(image)))
        top = result.classifications[0].categories[0]
        seen.add(top.category_name)
        right += int(top.category_name == names[label])
    print(json.dumps({"top1": right / len(y), "samples": int(len(y)), "categories": sorted(seen)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
