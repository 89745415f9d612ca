import numpy as np

from edgecnn.bench.runtime import pick_runtime


def interpreter(path):
    interp = pick_runtime().interpreter(path, 1)
    interp.allocate_tensors()
    return interp


def constant_bytes(interp):
    total = 0
    for detail in interp.get_tensor_details():
        try:
            total += interp.get_tensor(detail["index"]).nbytes
        except ValueError:      # activations have no data before invoke
            pass
    return total


def test_fp32_file_has_batch1_signature_and_matches_keras(tiny_models):
    model, paths = tiny_models
    interp = interpreter(paths["fp32"])
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert list(inp["shape"]) == [1, 32, 32, 1] and list(inp["shape_signature"]) == [1, 32, 32, 1]
    assert inp["dtype"] == np.float32 and list(out["shape"]) == [1, 10]
    x = np.random.default_rng(1).integers(0, 256, (1, 32, 32, 1)).astype(np.float32)
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    assert np.allclose(interp.get_tensor(out["index"]), model(x).numpy(), atol=1e-5)


def test_int8_file_takes_raw_uint8_pixels(tiny_models):
    _, paths = tiny_models
    interp = interpreter(paths["int8"])
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    assert inp["dtype"] == np.uint8 and out["dtype"] == np.uint8
    assert inp["quantization"] == (1.0, 0)           # camera bytes go in unchanged
    # weights are 4x smaller; the whole file less so, as every output channel also stores a float32 scale
    # and an int64 zero point (about 170 KB of this 420 K-parameter model)
    assert constant_bytes(interp) < 0.27 * constant_bytes(interpreter(paths["fp32"]))
    assert paths["int8"].stat().st_size < 0.40 * paths["fp32"].stat().st_size
    ops = {d["op_name"] for d in interp._get_ops_details()}
    assert "CONV_2D" in ops and "DEPTHWISE_CONV_2D" in ops and "DEQUANTIZE" not in ops


def test_near_zero_calibration_ranges_are_named_and_the_int8_file_stays_in_one_xnnpack_partition():
    """An untrained MobileNet v3 Small at an input size no recipe uses: calibration leaves its hard-swish ADDs
    inputs of scale ~1e-7, which XNNPACK refuses (18 partitions); convert says so, and the file it writes is in
    one partition and computes the same outputs on the calibration images."""
    from edgecnn.convert import ranges
    from edgecnn.convert.converter import configure, convert
    from edgecnn.zoo.registry import build_model

    model = build_model("mobilenet_v3_small", (48, 48, 3), 10)
    calibration = np.random.default_rng(0).integers(0, 256, (16, 48, 48, 3), dtype=np.uint8)
    said = []
    blob = convert(model, "int8", calibration, said=said)
    raw = configure(model, "int8", calibration).convert()
    (before, original), (after, widened) = ranges.partitions(raw), ranges.partitions(blob)
    assert (before, after) == (18, 1)
    assert len(said) == 1 and said[0].startswith("calibration left 17 tensors a near-zero range (") and \
        "so XNNPACK takes the file in 1 partition (outputs on 16 calibration images the same as" in said[0], said
    np.testing.assert_array_equal(ranges.outputs(original, calibration), ranges.outputs(widened, calibration))
    assert ranges.widen(blob) == (blob, [])                 # nothing left to widen
