"""The package's shape: no import cycles, no private names across modules, no side effects on import."""

import ast
import subprocess
import sys
from pathlib import Path

import posepred

PACKAGE = Path(posepred.__file__).parent


def relative_imports(path: Path):
    """``(module, names, top_level)`` of every ``from .module import names`` in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            yield node.module.split(".")[0], [a.name for a in node.names], id(node) in top


def test_no_import_cycles_at_module_level():
    graph = {p.stem: {m for m, _, top in relative_imports(p) if top} for p in PACKAGE.glob("*.py")}

    def visit(module, path):
        assert module not in path, "import cycle: " + " -> ".join([*path, module])
        for imported in graph.get(module, ()):
            visit(imported, [*path, module])
    for module in graph:
        visit(module, [])


def test_no_private_names_imported_from_another_module():
    private = [(p.name, m, name) for p in PACKAGE.glob("*.py") for m, names, _ in relative_imports(p)
               for name in names if name.startswith("_")]
    assert not private


def test_evaluation_never_imports_training():
    imported = {m for m, _, _ in relative_imports(PACKAGE / "evaluate.py")}
    assert not imported & {"trainer", "resume", "cv"}


def test_importing_posepred_leaves_torch_threads_alone():
    code = ("import torch; before = torch.get_num_threads(); import posepred, posepred.cli, posepred.trainer; "
            "print(before == torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"OMP_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"}).stdout
    assert out.strip() == "True"
