"""A .tflite file verified against the TFLite schema before any runtime sees it.

tflite-runtime does not verify the flatbuffer it is given: a truncated file or a flipped byte in its
tables sends it reading outside the file (a segmentation fault) or allocating a tensor of a damaged
shape (gigabytes). No Python library verifies TFLite files (the flatbuffers package has no verifier),
so this walks the schema (tensorflow/lite/schema/schema.fbs) as flatbuffers' own C++ verifier would:
every table, vtable, vector and string the schema reaches lies inside the file and is aligned; then
what the runtimes take on trust: tensor, buffer, operator-code and subgraph indices in range, constant
buffers exactly as large as their tensors' shape and type, quantization vectors matching the quantized
dimension, no tensor larger than MAX_TENSOR_BYTES. Options tables are checked as tables (their scalar
fields cannot point outside), the few with vectors (Reshape, Squeeze) to their vectors' ends.

No TensorFlow, no numpy: it goes onto devices with the bench. Raises Damaged(offset, what).
"""

import mmap
import struct

MAX_TENSOR_BYTES = 1 << 31          # a larger tensor is a damaged shape, not a model for a device
TYPE_BITS = {0: 32, 1: 16, 2: 32, 3: 8, 4: 64, 5: None, 6: 8, 7: 16, 8: 64, 9: 8, 10: 64, 11: 128, 12: 64,
             13: None, 14: None, 15: 32, 16: 16, 17: 4, 18: 16, 19: 2, 20: 4}     # schema.fbs TensorType
VECTOR_OPTIONS = {17: "ReshapeOptions", 30: "SqueezeOptions"}        # BuiltinOptions whose field 0 is [int]


class Damaged(ValueError):
    def __init__(self, offset, what):
        super().__init__(f"at byte {offset:,}: {what}")
        self.offset, self.what = offset, what


class Table:
    """One flatbuffer table, its vtable checked; fields by slot number as schema.fbs orders them."""

    def __init__(self, buf, pos, what):
        self.buf, self.pos, self.what = buf, pos, what
        buf.need(pos, 4, what, align=4)
        self.vtable = pos - buf.i32(pos)
        buf.need(self.vtable, 4, f"{what}'s vtable", align=2)
        self.vt_size, self.size = buf.u16(self.vtable), buf.u16(self.vtable + 2)
        if self.vt_size < 4 or self.vt_size % 2 or self.size < 4:
            raise Damaged(self.vtable, f"{what}'s vtable is malformed")
        buf.need(self.vtable, self.vt_size, f"{what}'s vtable")
        buf.need(pos, self.size, what)

    def field(self, slot, width):
        entry = 4 + 2 * slot
        if entry >= self.vt_size:
            return None
        offset = self.buf.u16(self.vtable + entry)
        if not offset:
            return None
        if offset + width > self.size:
            raise Damaged(self.pos, f"{self.what}'s field {slot} lies outside the table")
        return self.pos + offset

    def scalar(self, slot, fmt, default=0):
        pos = self.field(slot, struct.calcsize(fmt))
        return default if pos is None else self.buf.unpack(fmt, pos)

    def target(self, slot, what):
        pos = self.field(slot, 4)
        if pos is None:
            return None
        target = pos + self.buf.u32(pos)
        self.buf.need(target, 4, what, align=4)
        return target

    def vector(self, slot, fmt, what):
        """The elements of a vector of scalars (fmt one struct letter), [] when absent."""
        start = self.target(slot, what)
        if start is None:
            return []
        count = self.buf.u32(start)
        width = struct.calcsize(fmt)
        self.buf.need(start + 4, count * width, what)
        return list(struct.unpack_from(f"<{count}{fmt}", self.buf.data, start + 4)) if count < 1 << 20 else \
            _Lazy(self.buf, start + 4, count, fmt)

    def span(self, slot, what):
        """(start, length) of a [ubyte] vector (a string's bytes too: string() checks its terminating zero), or None."""
        start = self.target(slot, what)
        if start is None:
            return None
        count = self.buf.u32(start)
        self.buf.need(start + 4, count, what)
        return start + 4, count

    def string(self, slot, what):
        span = self.span(slot, what)
        if span is None:
            return ""
        start, count = span
        self.buf.need(start + count, 1, f"{what}'s end")
        if self.buf.data[start + count]:
            raise Damaged(start + count, f"{what} is not terminated")
        return bytes(self.buf.data[start:start + count]).decode("utf-8", "replace")

    def tables(self, slot, what):
        start = self.target(slot, what)
        if start is None:
            return []
        count = self.buf.u32(start)
        self.buf.need(start + 4, 4 * count, what)
        out = []
        for i in range(count):
            pos = start + 4 + 4 * i
            out.append(Table(self.buf, pos + self.buf.u32(pos), f"{what} {i}"))
        return out

    def table(self, slot, what):
        target = self.target(slot, what)
        return None if target is None else Table(self.buf, target, what)


class _Lazy:
    """A long vector read on demand (a large int64 zero-point vector, say) instead of unpacked at once."""

    def __init__(self, buf, start, count, fmt):
        self.buf, self.start, self.count, self.fmt = buf, start, count, fmt

    def __len__(self):
        return self.count

    def __iter__(self):
        width = struct.calcsize(self.fmt)
        return (self.buf.unpack(self.fmt, self.start + i * width) for i in range(self.count))


class Buffer:
    def __init__(self, data):
        self.data, self.size = data, len(data)

    def need(self, pos, length, what, align=1):
        if pos < 0 or length < 0 or pos + length > self.size:
            raise Damaged(max(pos, 0), f"{what} lies outside the file ({self.size:,} bytes)")
        if pos % align:
            raise Damaged(pos, f"{what} is misaligned")

    def unpack(self, fmt, pos):
        return struct.unpack_from("<" + fmt, self.data, pos)[0]

    def u32(self, pos):
        return self.unpack("I", pos)

    def i32(self, pos):
        return self.unpack("i", pos)

    def u16(self, pos):
        return self.unpack("H", pos)


def _indices(values, limit, what, pos, allow_none=False):
    for i, value in enumerate(values):
        if not (0 <= value < limit or (allow_none and value == -1)):
            raise Damaged(pos, f"{what}[{i}] = {value} is not a valid index (0 to {limit - 1})")


def _product(dims):
    total = 1
    for d in dims:
        total *= d
    return total


def _tensor(t, index, sub, buffers):
    what = f"subgraph {sub} tensor {index}"
    shape = t.vector(0, "i", f"{what}'s shape")
    kind = t.scalar(1, "b")
    if kind not in TYPE_BITS:
        raise Damaged(t.pos, f"{what} has no tensor type {kind}")
    buffer = t.scalar(2, "I")
    if buffer >= len(buffers):
        raise Damaged(t.pos, f"{what} refers to buffer {buffer} of {len(buffers)}")
    name = t.string(3, f"{what}'s name")
    what = f"{what} '{name}'"
    if any(d < 0 for d in shape):
        raise Damaged(t.pos, f"{what} has a negative dimension in its shape {list(shape)}")
    bits = TYPE_BITS[kind]
    count = _product(shape)
    if bits and count * bits // 8 > MAX_TENSOR_BYTES:
        raise Damaged(t.pos, f"{what} would take {count * bits // 8:,} bytes (shape {list(shape)})")
    quant = t.table(4, f"{what}'s quantization")
    if quant is not None:
        quant.vector(0, "f", f"{what}'s quantization min")
        quant.vector(1, "f", f"{what}'s quantization max")
        scales = quant.vector(2, "f", f"{what}'s quantization scales")
        zeros = quant.vector(3, "q", f"{what}'s zero points")
        if quant.scalar(4, "B"):
            quant.table(5, f"{what}'s quantization details")
        axis = quant.scalar(6, "i")
        if len(scales) > 1:
            if not 0 <= axis < len(shape) or len(scales) != shape[axis] or len(zeros) not in (0, len(scales)):
                raise Damaged(quant.pos, f"{what}'s {len(scales)} scales do not match dimension {axis} of {list(shape)}")
    sparse = t.table(6, f"{what}'s sparsity")
    if sparse is not None:
        sparse.vector(0, "i", f"{what}'s traversal order")
        sparse.vector(1, "i", f"{what}'s block map")
        for dim in sparse.tables(2, f"{what}'s dimension metadata"):
            for slot in (3, 5):                      # array segments, array indices: a table with values
                if dim.scalar(slot - 1, "B"):
                    values = dim.table(slot, f"{what}'s sparse index array")
                    if values is not None:
                        values.vector(0, {1: "i", 2: "H", 3: "B"}.get(dim.scalar(slot - 1, "B"), "B"),
                                      f"{what}'s sparse index values")
    t.vector(7, "i", f"{what}'s shape signature")
    for variant in t.tables(9, f"{what}'s variant tensors"):
        variant.vector(0, "i", f"{what}'s variant shape")
    data = buffers[buffer]
    if buffer and data and bits and sparse is None:
        exact = (count * bits + 7) // 8
        if data not in (exact, count):              # sub-byte types may be stored one value a byte
            raise Damaged(t.pos, f"{what} holds {data:,} bytes of data where its shape {list(shape)} "
                                 f"needs {exact:,}")
    return len(shape)


def verify_bytes(data):
    """Raise Damaged on the first thing wrong with the TFLite flatbuffer `data` (bytes or mmap)."""
    buf = Buffer(data)
    buf.need(0, 8, "the header")
    if bytes(data[4:8]) != b"TFL3":
        raise Damaged(4, "there is no 'TFL3' identifier: not a TFLite file")
    model = Table(buf, buf.u32(0), "the model table")
    codes = model.tables(1, "operator code")
    for code in codes:
        code.string(1, f"{code.what}'s custom code")
    buffers = []
    for b in model.tables(4, "buffer"):
        span = b.span(0, f"{b.what}'s data")
        offset, size = b.scalar(1, "Q"), b.scalar(2, "Q")
        if offset > 1 and offset + size > buf.size:
            raise Damaged(b.pos, f"{b.what}'s data (bytes {offset:,} to {offset + size:,}) lies outside the file")
        buffers.append(size if offset > 1 else (span[1] if span else 0))
    subgraphs = model.tables(2, "subgraph")
    if not subgraphs:
        raise Damaged(model.pos, "the model has no subgraph")
    tensor_counts = []
    for s, sub in enumerate(subgraphs):
        tensors = sub.tables(0, f"subgraph {s} tensor")
        for i, t in enumerate(tensors):
            _tensor(t, i, s, buffers)
        n = len(tensors)
        tensor_counts.append(n)
        _indices(sub.vector(1, "i", f"subgraph {s}'s inputs"), n, f"subgraph {s} inputs", sub.pos)
        _indices(sub.vector(2, "i", f"subgraph {s}'s outputs"), n, f"subgraph {s} outputs", sub.pos)
        for o, op in enumerate(sub.tables(3, f"subgraph {s} operator")):
            what = f"subgraph {s} operator {o}"
            code = op.scalar(0, "I")
            if code >= len(codes):
                raise Damaged(op.pos, f"{what} uses operator code {code} of {len(codes)}")
            _indices(op.vector(1, "i", f"{what}'s inputs"), n, f"{what} inputs", op.pos, allow_none=True)
            _indices(op.vector(2, "i", f"{what}'s outputs"), n, f"{what} outputs", op.pos, allow_none=True)
            for slot_type, slot in ((3, 4), (11, 12)):
                kind = op.scalar(slot_type, "B")
                if kind:
                    options = op.table(slot, f"{what}'s options")
                    if options is not None and slot == 4 and kind in VECTOR_OPTIONS:
                        options.vector(0, "i", f"{what}'s {VECTOR_OPTIONS[kind]}")
            op.span(5, f"{what}'s custom options")
            op.vector(7, "B", f"{what}'s mutating inputs")
            _indices(op.vector(8, "i", f"{what}'s intermediates"), n, f"{what} intermediates", op.pos)
            offset, size = op.scalar(9, "Q"), op.scalar(10, "Q")
            if offset and offset + size > buf.size:
                raise Damaged(op.pos, f"{what}'s custom options lie outside the file")
        sub.string(4, f"subgraph {s}'s name")
    model.string(3, "the model's description")
    _indices(model.vector(5, "i", "the metadata buffer list"), len(buffers), "metadata buffers", model.pos)
    for meta in model.tables(6, "metadata"):
        meta.string(0, f"{meta.what}'s name")
        if meta.scalar(1, "I") >= len(buffers):
            raise Damaged(meta.pos, f"{meta.what} refers to a buffer the model does not have")
    for sig in model.tables(7, "signature"):
        index = sig.scalar(4, "I")
        if index >= len(subgraphs):
            raise Damaged(sig.pos, f"{sig.what} refers to subgraph {index} of {len(subgraphs)}")
        sig.string(2, f"{sig.what}'s key")
        for slot in (0, 1):
            for entry in sig.tables(slot, f"{sig.what} tensor"):
                entry.string(0, f"{entry.what}'s name")
                if entry.scalar(1, "I") >= tensor_counts[index]:
                    raise Damaged(entry.pos, f"{entry.what} refers to a tensor subgraph {index} does not have")


def verify(path):
    """Raise Damaged on the first thing wrong with the .tflite file at `path` (read through mmap)."""
    with open(path, "rb") as f:
        if not f.seek(0, 2):
            raise Damaged(0, "the file is empty")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            verify_bytes(data)
