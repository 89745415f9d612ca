"""A small image-folder data set made here, no download: one filled shape (circle, square or triangle) of random
size, place and colour on a plain background of another colour, with light noise, saved as PNG and JPEG mixed.
An easy task a small CNN should solve almost perfectly, at the size of a user's first own data set.

    python -m edgecnn.data.synthetic OUT [--train 200] [--test 60] [--size 64] [--seed 0]

writes OUT/train/<class>/*.png|jpg and OUT/test/<class>/... (the layout dataset.name: image_folder reads).
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")


def draw(shape, size, rng):
    """One RGB uint8 image of `shape`: its bounding box 30-70 % of the side, anywhere it fits."""
    background = rng.integers(0, 256, 3)
    colour = (background + rng.integers(96, 160, 3)) % 256        # far enough from the background to see
    image = Image.new("RGB", (size, size), tuple(int(c) for c in background))
    side = int(size * rng.uniform(0.3, 0.7))
    x, y = rng.integers(0, size - side + 1, 2)
    box = [int(x), int(y), int(x + side), int(y + side)]
    pen = ImageDraw.Draw(image)
    fill = tuple(int(c) for c in colour)
    if shape == "circle":
        pen.ellipse(box, fill=fill)
    elif shape == "square":
        pen.rectangle(box, fill=fill)
    else:
        pen.polygon([(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) / 2, box[1])], fill=fill)
    noisy = np.asarray(image, np.int16) + rng.normal(0, 8, (size, size, 3)).astype(np.int16)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def write(out, train=200, test=60, size=64, seed=0):
    """OUT/train and OUT/test, `train` and `test` images of each shape; every third image a JPEG. Returns OUT."""
    out, rng = Path(out), np.random.default_rng(seed)
    for split, count in (("train", train), ("test", test)):
        for shape in SHAPES:
            folder = out / split / shape
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                image = Image.fromarray(draw(shape, size, rng))
                if i % 3 == 2:
                    image.save(folder / f"{shape}_{i:04d}.jpg", quality=90)
                else:
                    image.save(folder / f"{shape}_{i:04d}.png")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--train", type=int, default=200, help="training images a class")
    p.add_argument("--test", type=int, default=60, help="test images a class")
    p.add_argument("--size", type=int, default=64, help="side in pixels")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(f"wrote {write(args.out, args.train, args.test, args.size, args.seed)}: {len(SHAPES)} classes, "
          f"{args.train} training and {args.test} test images each, {args.size}x{args.size} RGB")


if __name__ == "__main__":
    main()
