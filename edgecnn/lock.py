"""One training at a time per recipe: `edgecnn train` holds build/<r>/.lock (flock) while it runs.

Two `make` runs of one recipe started side by side would otherwise both train into build/<r>/checkpoints
and interleave their epochs. The second run is refused with one sentence naming the first; the processes
the holder starts itself (distributed workers) inherit the lock through EDGECNN_HOLDS_LOCK. The kernel
drops the lock when its holder exits, however it exits, so a killed run never leaves it held.
"""

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from edgecnn.errors import UserError

ENV = "EDGECNN_HOLDS_LOCK"


@contextmanager
def held(folder, what, why="two runs would train into one checkpoint folder"):
    folder = Path(folder)
    if os.environ.get(ENV) == str(folder.resolve()):      # a child of the run that holds it
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise UserError(f"{folder} is being built by {holder}; wait for that run to finish, then run make "
                            f"again ({why}).") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} ({what}, since {time.strftime('%Y-%m-%d %H:%M:%S')})")
        f.flush()
        os.environ[ENV] = str(folder.resolve())
        try:
            yield
        finally:
            os.environ.pop(ENV, None)
            f.seek(0)
            f.truncate()
