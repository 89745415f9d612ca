"""The package's shape: no import circles, a CLI that parses and calls, a stage per folder, and every command
the README shows still there (the make targets, edgecnn's commands, edgecnn-bench's options)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "edgecnn"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path, modules):
    """The edgecnn modules `path` imports anywhere (top level or inside a function): `from a.b import c` is
    a.b.c when c is a module, else a.b."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}
    return {m for m in found if m in modules and m != name}


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def import_graph():
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports(path, paths) for name, path in paths.items()}


def test_the_cycle_finder_finds_a_circle_through_a_function_level_import(tmp_path):
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    graph = import_graph()
    assert len(graph) > 100 and "edgecnn.convert.converter" in graph["edgecnn.convert.stage"]
    assert cycles(graph) == []


# The package's layers, lowest first (docs/design.md): a stage folder or a shared module imports only layers
# before it, function-level imports included. bench is the ground floor (numpy and a TFLite runtime, copied to
# devices); then what every stage shares; the stages in pipeline order; the commands on top.
LAYERS = ["edgecnn", "bench", "errors", "sources", "artifacts", "lock", "tf", "data", "zoo", "variants", "schema", "recipe",
          "make", "measure", "train", "compress", "convert", "export", "study", "check", "cli", "__main__"]


def layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def upward(graph):
    """The imports that reach a higher layer: "importer -> imported"."""
    return [f"{m} -> {d}" for m, deps in sorted(graph.items()) for d in sorted(deps)
            if LAYERS.index(layer(d)) > LAYERS.index(layer(m))]


def test_the_layer_check_finds_an_import_from_a_lower_stage_into_a_higher_one():
    graph = {"edgecnn.data.pipeline": {"edgecnn.train.options", "edgecnn.errors"}, "edgecnn.train.options": set(),
             "edgecnn.errors": set()}
    assert upward(graph) == ["edgecnn.data.pipeline -> edgecnn.train.options"]


def test_stages_depend_one_way_in_pipeline_order():
    graph = import_graph()
    assert {layer(m) for m in graph} == set(LAYERS)
    assert upward(graph) == []


def test_recipes_are_checked_without_tensorflow():
    """The schema, the zoo's index and the data checks: `edgecnn check`, `make -n`, bench and report start fast."""
    code = ("import sys; from edgecnn import recipe; r = recipe.load('recipes/fashion_mnist_mobilenet_v2.yaml'); "
            "r.inputs(); import edgecnn.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'tf_keras', 'keras')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout[-500:] + proc.stderr[-2000:]


def test_the_cli_parses_and_calls():
    """Every command's body is its stage module's import, the call and what it prints: at most four statements
    besides imports and the docstring, and no helper functions beyond the error boundary's and parsing's."""
    tree = ast.parse((PACKAGE / "cli.py").read_text())
    commands = [n for n in tree.body if isinstance(n, ast.FunctionDef)
                and any("command" in ast.unparse(d) or "group" in ast.unparse(d) for d in n.decorator_list)]
    assert len(commands) >= 19
    for fn in commands:
        body = [s for s in fn.body if not isinstance(s, (ast.Import, ast.ImportFrom))
                and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        assert len(body) <= 4, f"{fn.name}: {len(body)} statements"
        for s in ast.walk(fn):
            assert not isinstance(s, (ast.For, ast.While)) or fn.name in ("compress", "quant_report", "export"), fn.name
    helpers = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} - {c.name for c in commands}
    assert helpers == {"_recipe_arg", "_shape"}
    from edgecnn.cli import main

    for name in ("check", "train", "testset", "compress", "convert", "quant-report", "bench", "tflm", "optimize",
                 "compare", "export", "predict", "app-check", "inspect", "metadata", "sample-images", "report",
                 "models"):
        assert name in main.commands, name


def test_each_folder_of_the_package_is_a_stage_that_says_what_it_holds():
    folders = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == ["bench", "compress", "convert", "data", "export", "study", "train", "zoo"]
    for folder in folders:
        init = PACKAGE / folder / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text())), folder
    loose = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__", "__main__", "artifacts", "check", "cli", "errors", "lock", "make", "measure",
                     "recipe", "schema", "sources", "tf", "variants"]


def code_blocks(text):
    """The bodies of the plain ``` blocks of a markdown text (not ```yaml and the like), fence by fence."""
    found, body, kind = [], None, None
    for line in text.splitlines():
        if line.startswith("```"):
            if body is None:
                body, kind = [], line[3:].strip()
            else:
                if not kind:
                    found.append(body)
                body = None
        elif body is not None:
            body.append(line)
    return found


def readme_commands():
    lines = [line.split("#")[0].strip().removeprefix("$ ")
             for block in code_blocks((ROOT / "README.md").read_text()) for line in block]
    return [line for line in lines if line]


def test_the_readme_s_make_targets_exist():
    database = subprocess.run(["make", "-pRrq", "-f", "Makefile", ":"], cwd=ROOT, capture_output=True, text=True,
                              ).stdout
    targets = set(re.findall(r"^([\w./%<>$()-]+):", database, re.M))
    named = [line.split()[1] for line in readme_commands() if line.startswith("make ") and not line.startswith("make -")]
    assert {"demo", "test", "compare", "app-check", "device-check", "gpu-check", "gpu-check-delegate"} <= set(named)
    for target in named:
        pattern = re.sub(r"^build/(<\w+>|\w+)/", "build/%/", target)
        assert target in targets or pattern in targets or (
            pattern.endswith(".tflite") and "build/%.tflite" in targets), target


def test_the_readme_s_edgecnn_commands_and_bench_options_exist():
    from edgecnn.bench.cli import parser
    from edgecnn.cli import main

    lines = readme_commands()
    used = {line.split()[1] for line in lines if line.startswith("edgecnn ")}
    assert {"export", "inspect", "predict"} <= used and used <= set(main.commands), used - set(main.commands)
    bench_options = {o for a in parser()._actions for o in a.option_strings}
    shown = set(re.findall(r"(--[\w-]+)", " ".join(l for l in lines if l.startswith(("edgecnn-bench", "[")))))
    assert {"--data", "--runtime", "--threads"} <= shown and shown <= bench_options, shown - bench_options


def test_both_entry_points_and_python_m_answer():
    bin_dir = Path(sys.executable).parent
    for argv in ([str(bin_dir / "edgecnn"), "--help"], [str(bin_dir / "edgecnn-bench"), "--help"],
                 [sys.executable, "-m", "edgecnn", "--version"], [sys.executable, "-m", "edgecnn.bench", "--help"]):
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        assert proc.returncode == 0, (argv, proc.stderr[-1000:])
        assert "Usage" in proc.stdout or "usage" in proc.stdout or "version" in proc.stdout, argv


def test_click_is_what_parses():
    from edgecnn.cli import main

    assert isinstance(main, click.Group)
