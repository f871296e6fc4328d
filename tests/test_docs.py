"""Docs are tested: the Python examples in the docs run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def python_blocks(name: str) -> list[str]:
    text = (DOCS / name).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("name", ["clustering.md"])
def test_python_examples_run(name):
    blocks = python_blocks(name)
    assert blocks, f"docs/{name} has no python example"
    for code in blocks:
        exec(compile(code, f"docs/{name}", "exec"), {})


def test_spec_doc_example_is_a_valid_spec(tmp_path):
    import yaml

    import segmint

    text = (DOCS / "spec.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    merged: dict = {}
    for b in blocks:
        merged.update(yaml.safe_load(b))
    merged.pop("sources", None)  # they name files that do not exist here
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(merged))
    spec = segmint.load_spec(path)
    assert [s.method for s in spec.segmentations] == ["rules", "rfm", "kmeans", "value"]
