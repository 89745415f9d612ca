"""Damaged .tflite files: a model we build, truncated at many points and with bytes of its flatbuffer
tables changed (seeded), through the bench on every runtime installed and through `edgecnn inspect`:
no signal, no traceback, at most 4 GiB of address space, one sentence or a run. Every file the verifier passes
goes to each runtime; of those it refuses, two (the refusal is the same sentence before any runtime loads it). Without the verifier
(edgecnn/bench/verify.py) tflite-runtime 2.14 dies by SIGSEGV on most truncated files."""

import os
import random
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from conftest import ROOT, installed
from edgecnn.bench.verify import Buffer, Damaged, Table, verify, verify_bytes

DEVICE_PYTHON = ROOT / ".device-venv" / "bin" / "python"      # numpy<2 + tflite-runtime 2.14 (make test builds it)
MEMORY = 4 << 30


def structure_bytes(data):
    """Offsets of the bytes outside the buffers' data: the tables a runtime walks."""
    buf = Buffer(data)
    inside = bytearray(len(data))
    for b in Table(buf, buf.u32(0), "model").tables(4, "buffer"):
        span = b.span(0, "data")
        if span:
            inside[span[0]:span[0] + span[1]] = b"\1" * span[1]
    return [i for i in range(len(data)) if not inside[i]]


def damaged(data, seed, truncations=10, changes=16):
    rng = random.Random(seed)
    cases = [(f"truncated to {n} bytes", data[:n]) for n in sorted(rng.sample(range(1, len(data)), truncations))]
    structure = structure_bytes(data)
    for pos in rng.sample(structure[:64], 4) + rng.sample(structure, changes - 4):     # the header, then anywhere
        blob = bytearray(data)
        blob[pos] = (blob[pos] ^ (1 << rng.randrange(8))) if rng.random() < 0.5 else rng.randrange(256)
        if blob != data:
            cases.append((f"byte {pos} changed", bytes(blob)))
    return cases


def bounded():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def bench(python, path, env=None):
    return subprocess.run([str(python), "-m", "edgecnn.bench", str(path), "--runs", "2", "--warmup", "1"],
                          capture_output=True, text=True, preexec_fn=bounded, timeout=300, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def runtimes():
    out = [("litert", sys.executable, None)]
    if DEVICE_PYTHON.exists():      # the repo's bench, not the copy made with the device venv
        out.append(("tflite-runtime 2.14", DEVICE_PYTHON, {"PYTHONPATH": str(ROOT)}))
    return out


def test_every_real_file_passes_the_verifier(tiny_models, micro_models):
    paths = [*tiny_models[1].values(), *micro_models[1].values()]
    for path in paths:
        verify(path)
    for path in (ROOT / "build").glob("*/*.tflite"):
        verify(path)


@pytest.mark.parametrize("fmt", ["int8", "fp32"])
def test_damaged_files_give_one_sentence_on_every_runtime(tiny_models, tmp_path, fmt):
    from edgecnn.cli import main

    installed(".device-venv/.installed", "the device env (numpy<2 + tflite-runtime 2.14)")
    data = tiny_models[1][fmt].read_bytes()
    cases = damaged(data, seed={"int8": 1, "fp32": 2}[fmt])
    refused = 0
    for i, (what, blob) in enumerate(cases):
        path = tmp_path / f"case{i}.tflite"
        path.write_bytes(blob)
        result = CliRunner().invoke(main, ["inspect", str(path)])
        assert result.exit_code in (0, 2) and (result.exception is None or isinstance(result.exception, SystemExit)), \
            f"{what}: inspect\n{result.output}"
        try:
            verify_bytes(blob)
        except Damaged:
            refused += 1
            if refused > 2:     # the bench refuses it with verify's sentence before a runtime loads it: two
                continue        # such runs show that sentence on each runtime; the files that pass go on to both
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda r: (r[0], bench(r[1], path, r[2])), runtimes()))
        for runtime, proc in runs:
            assert proc.returncode in (0, 2), f"{what}: {runtime} exit {proc.returncode}\n{proc.stderr[-2000:]}"
            assert "Traceback" not in proc.stderr, f"{what}: {runtime}\n{proc.stderr[-2000:]}"
            if proc.returncode:
                errors = [ln for ln in proc.stderr.splitlines() if "error:" in ln]
                assert len(errors) == 1 and str(path) in errors[0], f"{what}: {runtime}\n{proc.stderr[-2000:]}"
    truncated = sum(what.startswith("truncated") for what, _ in cases)
    assert refused >= truncated         # every truncation is refused before a runtime sees it


def test_a_damaged_file_is_named_with_its_byte_offset(tiny_models, tmp_path):
    data = tiny_models[1]["int8"].read_bytes()
    path = tmp_path / "half.tflite"
    path.write_bytes(data[:len(data) // 2])
    proc = bench(sys.executable, path)
    assert proc.returncode == 2
    line = proc.stderr.strip().splitlines()[-1]
    assert f"{path} is damaged at byte " in line and "lies outside the file" in line and "convert it again" in line


def test_a_runtime_that_crashes_on_a_file_is_one_sentence(tiny_models, tmp_path, monkeypatch):
    """guard.py: the files are first run in a child; a runtime that dies there (here one that aborts on
    every file, shadowing LiteRT in the child) is named with the file and the signal, this process lives."""
    from edgecnn.bench import guard
    from edgecnn.bench.model_file import ModelFileError
    from edgecnn.bench.runtime import pick_runtime

    fake = tmp_path / "ai_edge_litert"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "interpreter.py").write_text("import os\n\n\nclass Interpreter:\n    def __init__(self, *a, **k):\n"
                                         "        os.write(2, b'INFO: a notice\\nfree(): invalid pointer\\n')\n"
                                         "        os.abort()\n")
    runtime = pick_runtime("litert")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tiny_models[1]["int8"]
    with pytest.raises(ModelFileError, match=rf"^{path}: litert \S+ was killed by SIGABRT loading and running it once "
                                             r"\(its last words: free\(\): invalid pointer\)"):
        guard.check([path], runtime, 1)
