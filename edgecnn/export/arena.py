"""Peak activation memory of a .tflite graph: the tensor arena a microcontroller must reserve.

Every non-constant tensor of the main subgraph lives from the operator that writes it (the graph's
inputs: from the start) to the last operator that reads it (the graph's outputs: to the end). Tensors
whose lifetimes do not overlap may share memory. `plan` places them the way TFLite Micro's
GreedyMemoryPlanner does: largest first, each at the lowest 16-byte aligned offset that collides with
no placed tensor alive at the same time. Not counted: per-operator scratch buffers and the runtime's own
structures, so the real arena is somewhat larger; `lower_bound` is the most memory live at any one step.
"""

from dataclasses import dataclass

ALIGN = 16
ITEM_BYTES = {"FLOAT32": 4, "FLOAT16": 2, "INT32": 4, "UINT8": 1, "INT64": 8, "BOOL": 1, "INT16": 2,
              "INT8": 1, "FLOAT64": 8, "UINT64": 8, "UINT32": 4, "UINT16": 2, "INT4": 1, "BFLOAT16": 2}


@dataclass
class Live:
    name: str
    bytes: int
    first: int      # operator index that writes it (-1: a graph input)
    last: int       # operator index that last reads it (len(ops): a graph output)

    def overlaps(self, other):
        return self.first <= other.last and other.first <= self.last


def _aligned(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def lifetimes(tensors, operators, inputs, outputs, constant):
    """Live ranges of the non-constant tensors. `tensors`: [(name, bytes)]; `operators`: [(inputs, outputs)]
    as tensor indices; `constant(i)`: whether tensor i is stored in the file (weights)."""
    first, last = {i: -1 for i in inputs}, {i: len(operators) for i in outputs}
    for step, (reads, writes) in enumerate(operators):
        for i in writes:
            first.setdefault(i, step)
        for i in reads:
            if i >= 0 and not constant(i):
                last[i] = max(last.get(i, step), step)
    live = []
    for i, start in first.items():
        if not constant(i):
            live.append(Live(tensors[i][0], tensors[i][1], start, last.get(i, start)))
    return live


def plan(live):
    """{tensor name: offset} and the arena size, greedy as TFLite Micro plans it."""
    placed, offsets = [], {}
    for t in sorted(live, key=lambda t: (-_aligned(t.bytes), t.first)):
        offset = 0
        for other_offset, other in sorted(((o, p) for o, p in placed if p.overlaps(t)), key=lambda x: x[0]):
            if offset + _aligned(t.bytes) <= other_offset:
                break
            offset = max(offset, other_offset + _aligned(other.bytes))
        placed.append((offset, t))
        offsets[t.name] = offset
    size = max((o + _aligned(t.bytes) for o, t in placed), default=0)
    return offsets, size


def lower_bound(live):
    """The most bytes alive at any one operator: no planner can do with less."""
    steps = {t.first for t in live} | {t.last for t in live}
    return max((sum(_aligned(t.bytes) for t in live if t.first <= s <= t.last) for s in steps), default=0)
