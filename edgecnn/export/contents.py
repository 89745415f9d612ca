"""`edgecnn inspect`: what is inside a .tflite file, read from the flatbuffer itself (no interpreter):
inputs, outputs, operators with counts, weights (flash) against the activation arena (RAM), metadata."""

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.export import arena, metadata


def _names(enum_class):
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_")}


@dataclass
class Contents:
    path: str
    bytes: int
    sha256: str
    inputs: list
    outputs: list
    operators: Counter
    weights_bytes: int
    arena_bytes: int
    arena_lower_bound: int
    subgraphs: int
    metadata: object = None
    model_entries: list = field(default_factory=list)      # names in the model's `metadata` list


def _tensor_bytes(t, types):
    n = 1
    for d in (t.shape if t.shape is not None else []):
        n *= max(int(d), 1)                 # a dynamic dimension (-1) counts as 1: the batch-1 arena
    item = arena.ITEM_BYTES.get(types[t.type], 4)
    return n * item if types[t.type] != "INT4" else (n + 1) // 2


def _describe(t, types):
    q = t.quantization
    scale = list(q.scale) if q is not None and q.scale is not None else []
    zero = list(q.zeroPoint) if q is not None and q.zeroPoint is not None else []
    return {"name": t.name.decode(errors="replace"), "dtype": types[t.type].lower(),
            "shape": [int(d) for d in (t.shape if t.shape is not None else [])],
            "dynamic": any(int(d) < 0 for d in (t.shapeSignature if t.shapeSignature is not None else [])),
            "scale": [float(s) for s in scale], "zero_point": [int(z) for z in zero]}


def model_bytes(path):
    """The bytes of a .tflite file, or UserError with the model-file check's sentence."""
    from edgecnn.bench.model_file import ModelFileError, check_tflite

    try:
        check_tflite(str(path))
    except ModelFileError as e:
        raise UserError(str(e)) from None
    return Path(path).read_bytes()


def read(path):
    from ai_edge_litert import schema_py_generated as schema

    data = model_bytes(path)
    model = schema.ModelT.InitFromPackedBuf(bytearray(metadata.strip(data)), 0)
    types, builtins = _names(schema.TensorType), _names(schema.BuiltinOperator)
    graph = model.subgraphs[0]
    buffers = model.buffers or []

    def constant(i):
        b = graph.tensors[i].buffer
        return 0 < b < len(buffers) and ((buffers[b].data is not None and len(buffers[b].data) > 0)
                                         or (buffers[b].size or 0) > 0)

    def op_name(op):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        return code.customCode.decode(errors="replace") if builtin == schema.BuiltinOperator.CUSTOM else builtins[builtin]

    ops = Counter(op_name(op) for g in model.subgraphs for op in (g.operators or []))
    sizes = [(t.name.decode(errors="replace"), _tensor_bytes(t, types)) for t in graph.tensors]
    steps = [([int(i) for i in op.inputs], [int(o) for o in op.outputs]) for op in (graph.operators or [])]
    live = arena.lifetimes(sizes, steps, [int(i) for i in graph.inputs], [int(o) for o in graph.outputs], constant)
    _, planned = arena.plan(live)
    weights = sum(sizes[i][1] for i in range(len(graph.tensors)) if constant(i))
    return Contents(str(path), len(data), hashlib.sha256(data).hexdigest(),
                    [_describe(graph.tensors[i], types) for i in graph.inputs],
                    [_describe(graph.tensors[i], types) for i in graph.outputs],
                    ops, weights, planned, arena.lower_bound(live), len(model.subgraphs),
                    metadata.read(data), [m.name.decode(errors="replace") for m in (model.metadata or [])])


def _tensor_line(t):
    quant = ""
    if t["scale"]:
        scale = t["scale"][0] if len(t["scale"]) == 1 else f"{len(t['scale'])} per-channel scales"
        quant = f", scale {scale:.6g}, zero point {t['zero_point'][0] if t['zero_point'] else 0}"
    return f"  {t['name']}: {t['dtype']} {t['shape']}{quant}"


def render(c, gpu=None, micro=None):
    lines = [f"{c.path}: {c.bytes:,} bytes, sha256 {c.sha256}", "inputs:", *map(_tensor_line, c.inputs),
             "outputs:", *map(_tensor_line, c.outputs),
             f"operators: {sum(c.operators.values())} in {c.subgraphs} subgraph(s): "
             + ", ".join(f"{name} x{n}" for name, n in c.operators.most_common()),
             f"flash: {c.bytes:,} bytes, of which weights {c.weights_bytes:,}",
             f"activations (our estimate): {c.arena_bytes:,} bytes as TFLite Micro's greedy planner lays them "
             f"out (at least {c.arena_lower_bound:,} are live at once); the whole tensor arena is larger: "
             + ("below, as TFLite Micro measured it" if micro else "edgecnn inspect --mcu measures it on TFLite Micro")]
    if micro is not None:
        a = micro.arena
        lines += [f"TFLite Micro {micro.tflm_version}: runs it; all {len(micro.operators)} operators present "
                  f"({', '.join(micro.methods)})",
                  f"  tensor arena (RAM, measured): {a.recorded:,} bytes recorded (head {a.head:,} activations + "
                  f"tail {a.tail:,} runtime data); smallest that runs {a.smallest:,} "
                  f"({a.probes} child-process probes); with a {micro.margin:.0%} margin {micro.arena_constant:,}"]
    md = c.metadata
    if md is None:
        lines.append(f"metadata: none (model entries: {', '.join(c.model_entries) or 'none'}); "
                     f"edgecnn metadata writes it")
    else:
        lines.append(f"metadata: name {md.name!r}, version {md.version!r}, author {md.author!r}, "
                     f"license {md.license!r}")
        if md.description:
            lines.append(f"  description: {md.description}")
        if md.mean:
            lines.append(f"  normalization: mean {md.mean}, std {md.std}")
        if md.labels:
            shown = ", ".join(md.labels[:10]) + (", ..." if len(md.labels) > 10 else "")
            lines.append(f"  labels ({len(md.labels)}): {shown}")
    if gpu is not None:
        left = "; ".join(f"{op} ({why})" if why else op for op, why in gpu["left"].items())
        if gpu["by"] == "litert":
            where = (f"LiteRT's GPU accelerator on {gpu['adapter'] or 'the GPU'}"
                     + (", a software GPU (SwiftShader): which ops run on the GPU path, not GPU speed"
                        if gpu["software"] else ""))
            lines.append(f"GPU ({where}): " + ("the whole graph compiles for the GPU alone" if gpu["whole"] else
                                               f"not whole; left to the CPU: {left or 'ops its log does not name'}"))
        else:
            lines.append("GPU, by TensorFlow's analyzer (weak evidence: it passes nearly every op; no GPU to compile "
                         f"on here: {gpu['why']}): " + ("no op flagged" if gpu["whole"] else f"flagged: {left}"))
    return "\n".join(lines) + "\n"
