"""The bench's reports written atomically (numpy and the runtime only, like the rest of the bench): an
interrupted run never leaves half a file where a good one was."""

import os


def write_atomically(path, text):
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
