"""The shape of the package: imports point one way along the pipeline; the surface is tidy."""

from __future__ import annotations

import ast
from pathlib import Path

import segmint
from segmint.store.tables import render_markdown

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "segmint"

# Stages in pipeline order. A stage may import itself and any earlier stage, nothing later.
ORDER = [
    "exceptions",
    "store",
    "spec",
    "privacy",
    "ingest",
    "clean",
    "identity",
    "feedback",
    "features",
    "segment",
    "profile",
    "activate",
    "measure",
    "monitor",
    "report",
]
STANDALONE = {"datasets": {"exceptions"}}  # may import only these
INTERFACES = {
    "_workspace",
    "_engine_workspace",
    "_run",
    "cli",
    "api",
    "web",
    "__init__",
}  # may reach across stages


def _stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def _private_imports(path: Path) -> list[str]:
    """``segmint.<pkg>._x`` modules, and ``_x`` names imported from ``segmint.<pkg>``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _private(node.module):
                found.append(node.module)
            else:
                found += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names]
    return [m for m in found if _private(m)]


def _private(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "segmint" and any(p.startswith("_") for p in parts[2:])


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m == "segmint" or m.startswith("segmint.")}


def test_imports_point_downstream_only():
    problems = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts)
        own = _stage(module) if len(rel.parts) > 1 else "__init__"
        own = own.removesuffix(".py")
        if own in INTERFACES:
            continue
        for imp in _imports(path):
            target = _stage(imp) if imp != "segmint" else "__init__"
            if own in STANDALONE:
                ok = target == own or target in STANDALONE[own]
            elif own in ORDER and target in ORDER:
                ok = ORDER.index(target) <= ORDER.index(own)
            else:
                ok = target == own or (target in ORDER and own not in ORDER)
            if not ok:
                problems.append(f"{module} imports {imp}")
    assert not problems, "imports against the pipeline direction:\n" + "\n".join(problems)


def test_packages_are_entered_through_their_public_surface():
    """Outside ``segmint.<pkg>``, nothing imports its private modules or names (``_x``): what
    another part needs is exported from the package's ``__init__``."""
    problems = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        own = rel.parts[0] if len(rel.parts) > 1 else None
        for imp in _private_imports(path):
            if imp.split(".")[1] != own:
                problems.append(f"{'.'.join(rel.with_suffix('').parts)} imports {imp}")
    assert not problems, "private imports across packages:\n" + "\n".join(sorted(problems))


def _isort(name: str) -> tuple[int, str]:
    """ruff's __all__ order (RUF022): CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def test_package_all_lists_are_sorted_and_importable():
    import importlib

    for init in PKG.glob("*/__init__.py"):
        module = importlib.import_module(f"segmint.{init.parent.name}")
        names = getattr(module, "__all__", [])
        assert names == sorted(names, key=_isort), f"segmint.{init.parent.name}.__all__ order"
        for name in names:
            assert hasattr(module, name), f"segmint.{init.parent.name}.{name}"


def test_every_top_level_folder_is_a_known_stage_with_a_readme():
    for d in PKG.iterdir():
        if d.is_dir() and not d.name.startswith("__"):
            assert d.name in ORDER or d.name in STANDALONE or d.name in INTERFACES, d.name
            assert (d / "README.md").exists(), f"segmint/{d.name}/README.md is missing"


def test_public_all_is_sorted_and_importable():
    assert segmint.__all__ == sorted(segmint.__all__)
    for name in segmint.__all__:
        assert hasattr(segmint, name), name


def test_data_model_doc_is_generated_from_the_schema():
    doc = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    assert doc.strip() == render_markdown().strip(), (
        "docs/data-model.md is stale: run python -m segmint.store.tables > docs/data-model.md"
    )
