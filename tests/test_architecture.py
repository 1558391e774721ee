"""The package's shape, checked from the source (AST, nothing imported):

* imports point down the pipeline: a subpackage imports only subpackages listed before it
  in ``PIPELINE`` (and the top-level helpers ``yeastzoi``/``yeastzoi.fileio``); library
  code never imports ``yeastzoi.cli`` (the ``bin/`` scripts' plumbing);
* every module stays small (``MAX_MODULE_LINES``) and no function is longer than
  ``MAX_FUNCTION_LINES`` unless listed with its reason in ``LONG_FUNCTIONS``;
* no private name (``_x``) of one module is imported by another;
* ``bin/`` scripts never import each other.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "yeastzoi"
PIPELINE = ["genome", "coverage", "data", "model", "train", "evaluate", "score", "interpret",
            "simulate", "corpus", "plots"]
BASE = {"", "fileio", "report", "figures"}   # importable from anywhere: yeastzoi/__init__, fileio (atomic files, the figure writer), report (HTML), figures (chart primitives)
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80
#: function (module:qualname) → why it may be longer than MAX_FUNCTION_LINES
LONG_FUNCTIONS: dict[str, str] = {}


def modules():
    return sorted(p for p in SRC.rglob("*.py"))


def dotted(path: Path) -> str:
    if not path.is_relative_to(SRC):
        return path.stem                      # a bin/ script: no package
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported(path: Path):
    """(line, absolute module, names) of every yeastzoi import in ``path``."""
    tree = ast.parse(path.read_text())
    me = dotted(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] == "yeastzoi":
                yield node.lineno, mod, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "yeastzoi":
                    yield node.lineno, a.name, []


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_imports_point_down_the_pipeline():
    bad = []
    for path in modules():
        me = stage(dotted(path))
        for line, mod, names in imported(path):
            targets = [mod] + [f"{mod}.{n}" for n in names if mod == "yeastzoi"]
            for target in targets:
                other = stage(target)
                if mod == "yeastzoi" and f"{mod}.{other}" != target:
                    continue
                if other == "cli":
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports yeastzoi.cli (bin/ plumbing)")
                elif other in BASE or other == me or other not in PIPELINE:
                    continue
                elif me in BASE or me not in PIPELINE:
                    if me != "cli":
                        bad.append(f"{path.relative_to(ROOT)}:{line} base module imports {target}")
                elif PIPELINE.index(other) > PIPELINE.index(me):
                    bad.append(f"{path.relative_to(ROOT)}:{line} ({me}) imports {target} ({other} comes later)")
    assert not bad, "imports against the pipeline order:\n" + "\n".join(bad)


def test_modules_and_functions_are_small():
    big, long_fns = [], []
    for path in modules():
        text = path.read_text()
        n = text.count("\n")
        if n > MAX_MODULE_LINES:
            big.append(f"{path.relative_to(ROOT)}: {n} lines")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                key = f"{dotted(path)}:{node.name}"
                if length > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                    long_fns.append(f"{key}: {length} lines")
    assert not big and not long_fns, "\n".join(big + long_fns)


def test_no_private_name_crosses_modules():
    bad = []
    for path in list(modules()) + sorted((ROOT / "bin").glob("*.py")):
        for line, mod, names in imported(path):
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}.{n}")
        text = path.read_text()
        tree = ast.parse(text)
        aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   for a in node.names if not a.name.startswith("_")}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.value.id not in ("self", "cls")):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not bad, "private names used outside their module:\n" + "\n".join(bad)


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bin").glob("*.py")))
def test_scripts_do_not_import_each_other(script):
    text = (ROOT / "bin" / script).read_text()
    assert "sys.path.insert" not in text, f"bin/{script} edits sys.path"
    others = {p.stem for p in (ROOT / "bin").glob("*.py")} - {Path(script).stem}
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if getattr(node, "module", None) else [])
            assert not others & set(names), f"bin/{script}:{node.lineno} imports another script"
