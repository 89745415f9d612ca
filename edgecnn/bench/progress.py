"""A progress bar on stderr when it is a terminal, nothing otherwise (a log gets no bar lines).

Standard library only: it runs on devices with the bench.
"""

import sys
import time


def bar(label, items, total=None, stream=None):
    """Yield from `items`, redrawing `label [#####.....] n/total` on stderr at most ten times a second."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield from items
        return
    total = len(items) if total is None and hasattr(items, "__len__") else total
    last = 0.0
    n = 0
    for n, item in enumerate(items, 1):
        now = time.monotonic()
        if now - last > 0.1 or n == total:
            last = now
            if total:
                filled = int(30 * n / total)
                stream.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {n}/{total}")
            else:
                stream.write(f"\r{label} {n}")
            stream.flush()
        yield item
    if n:
        stream.write("\n")
        stream.flush()
