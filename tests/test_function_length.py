"""No function or method is longer than 80 lines (migrations aside): a longer one is split into
steps that can be read, and tested, one at a time."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIMIT = 80
CHECKED = ("archiver", "evidence", "benchmarks", "tests")
# Migrations too: the schema's migrations as they were before the evidence branch (tests/data).
MIGRATIONS_KEPT = "schema_before_branches"


def long_functions(root: Path = REPO, limit: int = LIMIT) -> list[str]:
    """'path:line name (N lines)' for each function longer than `limit` lines, decorators aside."""
    found = []
    for folder in CHECKED:
        for path in sorted((root / folder).rglob("*.py")):
            if MIGRATIONS_KEPT in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > limit:
                        found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_80_lines():
    assert long_functions() == []


def test_a_long_function_is_found(tmp_path):
    (tmp_path / "archiver").mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "archiver" / "long.py").write_text(f"def short():\n    pass\n\n\nasync def long():\n{body}\n")
    assert long_functions(tmp_path) == [f"archiver/long.py:5 long ({LIMIT + 1} lines)"]
