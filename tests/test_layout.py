"""The layout of the code: which top-level packages may import which, read with `ast`.

What tests and benchmarks share lives in `devtools/`, so `bench/` never imports `tests/`,
and the app (`evaluations/`, `hrbatch/`) and `devtools/` import neither `tests/` nor `bench/`.
Imports inside functions count, and so does `python -m tests.x` started as a subprocess.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A dotted module path in a string, as in `[sys.executable, "-m", "tests.fake_ollama"]`.
MODULE_IN_STRING = re.compile(r"(?:tests|bench)(?:\.\w+)+")


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import in the file, wherever it is written."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and MODULE_IN_STRING.fullmatch(node.value)
        ):
            yield node.lineno, node.value


def forbidden_imports(root: Path, package: str, forbidden: set[str]) -> list[str]:
    files = sorted((root / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    return [
        f"{path.relative_to(root)}:{line} imports {module}"
        for path in files
        for line, module in sorted(imports_of(path))
        if module.split(".")[0] in forbidden
    ]


def test_bench_imports_what_it_shares_with_the_tests_from_devtools_not_tests() -> None:
    assert forbidden_imports(ROOT, "bench", {"tests"}) == []


@pytest.mark.parametrize("package", ["evaluations", "hrbatch", "devtools"])
def test_the_app_and_devtools_import_neither_tests_nor_bench(package: str) -> None:
    assert forbidden_imports(ROOT, package, {"tests", "bench"}) == []


def test_the_check_sees_imports_in_functions_and_modules_started_with_dash_m(
    tmp_path: Path,
) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "script.py").write_text(
        "import json\n"
        "from devtools import live\n"
        "def main():\n"
        "    from tests.fake_ollama import FakeOllama\n"
        "    import tests.live\n"
        '    return ["python", "-m", "tests.fake_ollama"]\n',
        encoding="utf-8",
    )

    assert forbidden_imports(tmp_path, "bench", {"tests"}) == [
        "bench/script.py:4 imports tests.fake_ollama",
        "bench/script.py:5 imports tests.live",
        "bench/script.py:6 imports tests.fake_ollama",
    ]
