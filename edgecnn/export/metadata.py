"""TFLite model metadata: name, version, description, author, license, labels and input normalization
inside the .tflite file, in the layout TFLite's metadata tooling reads (tflite_support's MetadataDisplayer,
Android Studio's ML model binding, the Task Library).

The layout (tensorflow/tflite-support, metadata_schema.fbs): a ModelMetadata flatbuffer (file identifier
"M001") in a model buffer named by the model's `metadata` entry "TFLITE_METADATA"; the input tensor's
NormalizationOptions (mean, std); the labels as an associated file of the output tensor
(TENSOR_AXIS_LABELS) packed in a zip archive appended to the model file. tflite-support itself cannot be
installed beside TensorFlow 2.21 (it pins protobuf < 4), so this writes the few tables it needs with the
flatbuffers library; the graph and the weights are carried over unchanged (the tests compare them).
"""

import io
import struct
import zipfile
from dataclasses import dataclass, field

import flatbuffers
from flatbuffers import number_types, table

from edgecnn.errors import UserError

NAME = "TFLITE_METADATA"
IDENTIFIER = b"M001"
LABELS_FILE = "labels.txt"
TENSOR_AXIS_LABELS = 2           # AssociatedFileType
NORMALIZATION_OPTIONS = 1        # ProcessUnitOptions union tag
FEATURE_PROPERTIES, IMAGE_PROPERTIES = 1, 2      # ContentProperties union tags
COLOR_SPACES = {"RGB": 1, "GRAYSCALE": 2}        # ColorSpaceType


@dataclass
class Metadata:
    name: str = ""
    version: str = ""
    description: str = ""
    author: str = ""
    license: str = ""
    labels: list = field(default_factory=list)
    mean: list = field(default_factory=list)
    std: list = field(default_factory=list)
    color_space: str = ""            # the input image's: RGB or GRAYSCALE ("" writes no image properties)


def _schema():
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


# --- writing ---------------------------------------------------------------------------------------

def _strings(b, values):
    return {k: b.CreateString(v) for k, v in values.items() if v}


def _table(b, slots, offsets, bytes_slots=None):
    b.StartObject(slots)
    for slot, off in offsets.items():
        b.PrependUOffsetTRelativeSlot(slot, off, 0)
    for slot, value in (bytes_slots or {}).items():
        b.PrependUint8Slot(slot, value, 0)
    return b.EndObject()


def _vector(b, offsets):
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _floats(b, values):
    b.StartVector(4, len(values), 4)
    for v in reversed(values):
        b.PrependFloat32(float(v))
    return b.EndVector()


def _model_metadata(md):
    """The ModelMetadata flatbuffer (ModelMetadata, SubGraphMetadata, TensorMetadata, ProcessUnit,
    NormalizationOptions, AssociatedFile: field slots as in metadata_schema.fbs)."""
    b = flatbuffers.Builder(1024)
    input_units = []
    if md.mean:
        norm = _table(b, 2, {0: _floats(b, md.mean), 1: _floats(b, md.std)})
        input_units = [_table(b, 2, {1: norm}, {0: NORMALIZATION_OPTIONS})]
    in_name = b.CreateString("image")
    inputs = {0: in_name}
    if input_units:
        inputs[4] = _vector(b, input_units)
    if md.color_space:      # Content{ImageProperties{color_space}} and the pixel range, as the Task Library reads them
        image = _table(b, 2, {}, {0: COLOR_SPACES[md.color_space]})
        inputs[3] = _table(b, 3, {1: image}, {0: IMAGE_PROPERTIES})
        inputs[5] = _table(b, 2, {0: _floats(b, [255.0]), 1: _floats(b, [0.0])})
    input_tensor = _table(b, 8, inputs)
    outputs = {0: b.CreateString("probability")}
    if md.color_space:
        outputs[3] = _table(b, 3, {1: _table(b, 0, {})}, {0: FEATURE_PROPERTIES})
    if md.labels:
        label_file = _table(b, 5, _strings(b, {0: LABELS_FILE, 1: "Labels for the output's classes."}),
                            {2: TENSOR_AXIS_LABELS})
        outputs[6] = _vector(b, [label_file])
    output_tensor = _table(b, 8, outputs)
    subgraph = _table(b, 10, {2: _vector(b, [input_tensor]), 3: _vector(b, [output_tensor])})
    text = _strings(b, {0: md.name, 1: md.description, 2: md.version, 4: md.author, 5: md.license,
                        7: "1.0.0"})
    root = _table(b, 8, {**text, 3: _vector(b, [subgraph])})
    b.Finish(root, file_identifier=IDENTIFIER)
    return bytes(b.Output())


def _archive_start(data):
    """Where a zip archive appended to the model begins: its first local file header (zipfile reports
    header offsets from the start of `data`, the bytes before the archive included)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return min(info.header_offset for info in z.infolist())


def write(data, md):
    """`data` (a .tflite file) with `md` as its metadata, replacing any it had. Buffers, tensors and
    operators are carried over as they are."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(strip(data)), 0)
    model.metadata = [m for m in (model.metadata or []) if m.name.decode(errors="replace") != NAME] if model.metadata else []
    buffer = schema.BufferT()
    buffer.data = list(_model_metadata(md))
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = NAME, len(model.buffers) - 1
    model.metadata.append(entry)
    b = flatbuffers.Builder(len(data) + 4096)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    out = io.BytesIO(bytes(b.Output()))
    if md.labels:
        out.seek(0, io.SEEK_END)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as z:      # appended, as tflite_support does
            z.writestr(LABELS_FILE, "\n".join(md.labels) + "\n")
    return out.getvalue()


def strip(data):
    """The model without an appended zip of associated files."""
    data = bytes(data)
    if b"PK\x05\x06" not in data[-65_557:]:       # no end-of-central-directory record near the end
        return data
    try:
        return data[:_archive_start(data)]
    except (zipfile.BadZipFile, ValueError):     # bytes that only look like an archive's end
        return data


# --- reading ---------------------------------------------------------------------------------------

def _root(buf):
    return table.Table(buf, flatbuffers.encode.Get(flatbuffers.packer.uoffset, buf, 0))


def _string(t, slot):
    o = t.Offset(4 + 2 * slot)
    return t.String(o + t.Pos).decode(errors="replace") if o else ""


def _tables(t, slot):
    o = t.Offset(4 + 2 * slot)
    if not o:
        return []
    start = t.Vector(o)
    return [table.Table(t.Bytes, t.Indirect(start + 4 * i)) for i in range(t.VectorLen(o))]


def _byte(t, slot):
    o = t.Offset(4 + 2 * slot)
    return t.Get(number_types.Uint8Flags, o + t.Pos) if o else 0


def _float_list(t, slot):
    o = t.Offset(4 + 2 * slot)
    return [float(v) for v in t.GetVectorAsNumpy(number_types.Float32Flags, o)] if o else []


def read(data):
    """The Metadata of a .tflite file, or None when it has none. Labels come from the appended zip.
    The model's own tables are verified before (bench/verify.py); its metadata buffer is a flatbuffer
    of another schema, so a damaged one is caught here as one sentence."""
    try:
        return _read(data)
    except (struct.error, IndexError, ValueError, AttributeError, zipfile.BadZipFile) as e:
        if isinstance(e, UserError):
            raise
        raise UserError(f"the model's {NAME} buffer (its metadata) is damaged ({type(e).__name__}); write it "
                        f"again with `edgecnn metadata`, or export the model again.") from None


def _read(data):
    schema = _schema()
    model = schema.Model.GetRootAs(bytearray(strip(data)), 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name().decode(errors="replace") != NAME:
            continue
        buf = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
        if buf[4:8] != IDENTIFIER:
            raise UserError(f"the model's {NAME} buffer is not a ModelMetadata flatbuffer (no {IDENTIFIER.decode()}).")
        root = _root(bytearray(buf))
        md = Metadata(_string(root, 0), _string(root, 2), _string(root, 1), _string(root, 4), _string(root, 5))
        for sub in _tables(root, 3):
            for tensor in _tables(sub, 2):
                o = tensor.Offset(4 + 2 * 3)
                if o:
                    content = table.Table(tensor.Bytes, tensor.Indirect(o + tensor.Pos))
                    if _byte(content, 0) == IMAGE_PROPERTIES:
                        p = content.Offset(4 + 2 * 1)
                        image = table.Table(content.Bytes, content.Indirect(p + content.Pos))
                        spaces = {v: k for k, v in COLOR_SPACES.items()}
                        md.color_space = spaces.get(_byte(image, 0), "UNKNOWN")
                for unit in _tables(tensor, 4):
                    if _byte(unit, 0) == NORMALIZATION_OPTIONS:
                        o = unit.Offset(4 + 2 * 1)
                        norm = table.Table(unit.Bytes, unit.Indirect(o + unit.Pos))
                        md.mean, md.std = _float_list(norm, 0), _float_list(norm, 1)
            for tensor in _tables(sub, 3):
                for f in _tables(tensor, 6):
                    if _byte(f, 2) == TENSOR_AXIS_LABELS:
                        md.labels = _associated(data, _string(f, 0))
        return md
    return None


def _associated(data, name):
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
            return z.read(name).decode("utf-8").splitlines()
    except (zipfile.BadZipFile, KeyError):
        raise UserError(f"the model's metadata names the associated file {name}, which the file does not carry "
                        f"(it should be in a zip archive appended to the model).") from None
