"""`edgecnn compare-files A.tflite B.tflite --data SET`: the images two files classify differently (int8 against
fp32, pruned against dense), with counts per pair of classes, and each file's confusion matrix.

Both files run through the benchmark's own code (measure.Loaded.predict, one image at a time, as accuracy runs),
so the net count of images gained and lost is the difference of the two top-1 figures edgecnn-bench gives on the
same set, image by image. numpy and a TFLite runtime only, like the rest of the bench: on a device it runs as
`python -m edgecnn.bench.flips A.tflite B.tflite --data SET`.
"""

import argparse
import json
import sys
from collections import Counter

import numpy as np

from edgecnn.bench.labelled import DataError, load_labelled
from edgecnn.bench.measure import Loaded
from edgecnn.bench.progress import bar
from edgecnn.bench.runtime import pick_runtime


def classes_of(loaded, x):
    """The top-1 class of each image under a loaded file, and its class count."""
    out = [int(np.argmax(loaded.predict(image[None])[0])) for image in bar(f"classes {loaded.path}", x)]
    return np.array(out, dtype=np.int64), int(loaded.outputs[0]["shape"][-1])


def confusion(y, predicted, classes):
    """matrix[true class, predicted class] = images."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (y, predicted), 1)
    return m


def _same_task(a, b):
    shape = [tuple(int(d) for d in f.inputs[0]["shape"][1:]) for f in (a, b)]
    if shape[0] != shape[1]:
        return (f"{a.path} takes {'x'.join(map(str, shape[0]))} images and {b.path} takes "
                f"{'x'.join(map(str, shape[1]))}; compare two files of one model (the same input and classes).")
    classes = [int(f.outputs[0]["shape"][-1]) for f in (a, b)]
    if classes[0] != classes[1]:
        return (f"{a.path} has {classes[0]} classes and {b.path} has {classes[1]}; compare two files of one model "
                f"(the same input and classes).")
    return None


def compare(path_a, path_b, x, y, names=None, runtime="auto", threads=1):
    """The comparison as a dict: each file's top-1, the images whose class changed (index, label, class under A,
    under B), their counts per pair of classes, and each file's confusion matrix."""
    rt = pick_runtime(runtime)
    a, b = Loaded(path_a, rt, threads), Loaded(path_b, rt, threads)
    sentence = _same_task(a, b)
    if sentence:
        raise DataError(sentence)
    for f in (a, b):
        f.check_data(x, y)
    pa, classes = classes_of(a, x)
    pb, _ = classes_of(b, x)
    changed = np.flatnonzero(pa != pb)
    name = (lambda c: names[c]) if names and len(names) == classes else str
    pairs = Counter(zip(pa[changed].tolist(), pb[changed].tolist()))
    return {
        "a": str(path_a), "b": str(path_b), "runtime": f"{rt.name} {rt.version}", "samples": int(len(y)),
        "class_names": [name(c) for c in range(classes)],
        "top1": {"a": float(np.mean(pa == y)), "b": float(np.mean(pb == y))},
        "lost": int(np.sum((pa == y) & (pb != y))),         # right under A, wrong under B
        "gained": int(np.sum((pa != y) & (pb == y))),
        "both_wrong_differently": int(np.sum((pa != y) & (pb != y) & (pa != pb))),
        "changed": [{"index": int(i), "label": int(y[i]), "a": int(pa[i]), "b": int(pb[i])} for i in changed],
        "pairs": [{"a": ca, "b": cb, "images": n} for (ca, cb), n in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))],
        "confusion": {"a": confusion(y, pa, classes).tolist(), "b": confusion(y, pb, classes).tolist()},
    }


def render(result, show=20):
    names = result["class_names"]
    n, changed = result["samples"], result["changed"]
    t = result["top1"]
    lines = [f"A = {result['a']}: top-1 {100 * t['a']:.2f} %",
             f"B = {result['b']}: top-1 {100 * t['b']:.2f} % ({100 * (t['b'] - t['a']):+.2f} pt)",
             f"{len(changed):,} of {n:,} images change class ({result['runtime']}): {result['lost']} right under A and "
             f"wrong under B, {result['gained']} the other way (net {result['gained'] - result['lost']:+d} images = "
             f"the top-1 difference), {result['both_wrong_differently']} wrong under both, differently."]
    if result["pairs"]:
        lines += ["", "class under A -> class under B: images"]
        lines += [f"  {names[p['a']]} -> {names[p['b']]}: {p['images']}" for p in result["pairs"]]
        lines += ["", f"images (index: true class; A -> B){'' if len(changed) <= show else f', the first {show}'}:"]
        lines += [f"  {c['index']}: {names[c['label']]}; {names[c['a']]} -> {names[c['b']]}" for c in changed[:show]]
    return "\n".join(lines)


def run(path_a, path_b, data, samples=None, runtime="auto", threads=1, json_out=None, show=20):
    """Compare two files on a labelled set (.npz or folder of class folders); the text to print."""
    from edgecnn.bench.predict import labels_for

    x, y, names = load_labelled(data)
    if samples:
        x, y = x[:samples], y[:samples]
    names = labels_for(path_a)[0] or names
    result = compare(path_a, path_b, x, y, names, runtime, threads)
    if json_out:
        from edgecnn.bench.atomic import write_atomically

        write_atomically(json_out, json.dumps(result, indent=1) + "\n")
    return render(result, show), result


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m edgecnn.bench.flips", description=__doc__.split("\n\n")[0])
    p.add_argument("a", metavar="A.tflite")
    p.add_argument("b", metavar="B.tflite")
    p.add_argument("--data", required=True, help="labelled set: .npz with x, y (class_names) or a folder of class folders")
    p.add_argument("--samples", type=int, help="the first N images only")
    p.add_argument("--json", help="write every changed image, the pair counts and both confusion matrices here")
    p.add_argument("--show", type=int, default=20, help="images listed (default 20)")
    args = p.parse_args(argv)
    try:
        text, _ = run(args.a, args.b, args.data, args.samples, json_out=args.json, show=args.show)
    except (DataError, ValueError, RuntimeError) as e:
        print(f"edgecnn compare-files: error: {e}", file=sys.stderr)
        return 1
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
