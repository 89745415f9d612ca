"""The operators TensorFlow Lite Micro has, and what a .tflite file asks for, read with TFLM's own schema.

TFLM_BUILTINS is the set of builtin operators the pinned tflite-micro build registers (its _runtime.so
exports one Register_<OP> per kernel; tests/test_tflm.py checks this list against the installed build).
TFLM itself stays the judge: a file whose ops are all listed can still be refused by a kernel's
Prepare, and edgecnn.bench.tflm reports that refusal from TFLM's own log.
"""

import re
from dataclasses import dataclass

TFLM_BUILTINS = frozenset("""
ABS ADD ADD_N ARG_MAX ARG_MIN ASSIGN_VARIABLE AVERAGE_POOL_2D BATCH_MATMUL BATCH_TO_SPACE_ND BROADCAST_ARGS
BROADCAST_TO CALL_ONCE CAST CEIL CONCATENATION CONV_2D COS CUMSUM DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE
DIV DYNAMIC_UPDATE_SLICE ELU EMBEDDING_LOOKUP EQUAL EXP EXPAND_DIMS FILL FLOOR FLOOR_DIV FLOOR_MOD
FULLY_CONNECTED GATHER GATHER_ND GREATER GREATER_EQUAL HARD_SWISH IF L2_NORMALIZATION L2_POOL_2D LEAKY_RELU
LESS LESS_EQUAL LOG LOGICAL_AND LOGICAL_NOT LOGICAL_OR LOGISTIC LOG_SOFTMAX MAXIMUM MAX_POOL_2D MEAN MINIMUM
MIRROR_PAD MUL NEG NOT_EQUAL PACK PAD PADV2 PRELU QUANTIZE READ_VARIABLE REDUCE_ALL REDUCE_MAX REDUCE_MIN RELU RELU6
RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR REVERSE_V2 ROUND RSQRT SELECT_V2 SHAPE SIN SLICE SOFTMAX
SPACE_TO_BATCH_ND SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE SQUEEZE STRIDED_SLICE SUB SUM
SVDF TANH TRANSPOSE TRANSPOSE_CONV UNIDIRECTIONAL_SEQUENCE_LSTM UNPACK VAR_HANDLE WHILE ZEROS_LIKE
""".split())


@dataclass
class FileFacts:
    """What a .tflite file asks of a runtime, from its flatbuffer."""
    builtins: list          # builtin operator names, in order of first use
    custom: list            # custom operator names
    float16: bool           # float16 tensors (an fp16 file: weights TFLM cannot dequantize)
    hybrid: bool            # float activations with int8 weights and no QUANTIZE in front (dynamic range)
    dynamic: list           # "name [1, -1, ...]" for every input with a dynamic dimension


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def read_facts(data):
    """FileFacts of the .tflite bytes `data` (checked by model_file.check_tflite before)."""
    schema = _schema()
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    builtins, custom = [], []
    float16 = hybrid = False
    dynamic = []
    for index, graph in enumerate(model.subgraphs or []):
        tensors = graph.tensors or []
        for op in graph.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            name = names.get(builtin, f"builtin {builtin}")
            if name == "CUSTOM":
                name = code.customCode.decode(errors="replace")
                if name not in custom:
                    custom.append(name)
            elif name not in builtins:
                builtins.append(name)
            if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and len(op.inputs) > 1:
                act, weight = tensors[op.inputs[0]], tensors[op.inputs[1]]
                hybrid |= types.get(weight.type) == "INT8" and types.get(act.type) == "FLOAT32"
        float16 |= any(types.get(t.type) == "FLOAT16" for t in tensors)
        if index == 0:
            for i in graph.inputs if graph.inputs is not None else []:
                t = tensors[i]
                signature = [int(d) for d in (t.shapeSignature if t.shapeSignature is not None else [])]
                if any(d < 0 for d in signature):
                    dynamic.append(f"{t.name.decode(errors='replace')} {signature}")
    return FileFacts(builtins, custom, float16, hybrid, dynamic)


def missing(facts):
    """The builtin operators of the file that TFLM does not have, sorted."""
    return sorted(op for op in facts.builtins if op not in TFLM_BUILTINS)


def resolver_method(op):
    """The MicroMutableOpResolver method that registers builtin `op`: CONV_2D -> AddConv2D (the naming of
    TFLM's generate_micro_mutable_op_resolver_from_model tool)."""
    parts = re.split(r"[_-]", op.replace("TFLite", ""))
    return "Add" + "".join(p[0].upper() + p[1:].lower() if len(p) > 1 and p[0].isalpha() else p.upper()
                           for p in parts)
