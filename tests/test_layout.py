"""The layout of the code, read with `ast`: which modules may import which.

1. Top-level packages: what tests and benchmarks share lives in `devtools/`, so `bench/`
   never imports `tests/`, and the app and `devtools/` import neither `tests/` nor `bench/`.
   Imports inside functions count, and so does `python -m tests.x` started as a subprocess.
2. The project's modules (evaluations, hrbatch, web, api, devtools; not migrations):
   (a) no import cycle, counting imports inside functions and relative imports;
   (b) no module uses another module's `_private` name (tests and bench included);
   (c) imports run the way DESIGN.md draws them: the doors (web, api, admin, commands) are
       never imported by the domain, the engine only by `evaluations.tasks`, and services
       import neither the engine nor the tasks;
   (d) the doors reach the domain through its front only (see DOOR_MAY_IMPORT);
   (e) no function of evaluations/, web/ or api/ is longer than FUNCTION_LINES_MAX.
Each check has a self-test on a planted tree, so it is known to fail when it should.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A dotted module path in a string, as in `[sys.executable, "-m", "tests.fake_ollama"]`.
MODULE_IN_STRING = re.compile(r"(?:tests|bench)(?:\.\w+)+")
# The project's own packages, whichever exist (web/ and api/ are being split out).
APP_PACKAGES = ("evaluations", "hrbatch", "web", "api", "devtools")
EXISTING_APP_PACKAGES = [name for name in APP_PACKAGES if (ROOT / name / "__init__.py").is_file()]


# --- 1. Top-level packages ----------------------------------------------------------------


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


@pytest.mark.parametrize("package", EXISTING_APP_PACKAGES)
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


# --- 2. The project's modules -------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    name: str  # dotted: "evaluations.services.runs"; a package by its own name
    path: Path
    is_package: bool  # an __init__.py

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Edge:
    """`importer` imports `imported` at `line` (both project modules)."""

    importer: str
    imported: str
    line: int


def modules_under(root: Path, packages: Iterable[str]) -> dict[str, Module]:
    """Every module of the given packages (those that exist), migrations left out."""
    found: dict[str, Module] = {}
    for package in packages:
        if not (root / package).is_dir():
            continue
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts:
                continue
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            found[name] = Module(name, path, is_package)
    return found


def bench_scripts(root: Path) -> dict[str, Module]:
    """bench/ is scripts, not a package; each is named `bench.<file>` here."""
    return {
        f"bench.{path.stem}": Module(f"bench.{path.stem}", path, False)
        for path in sorted((root / "bench").glob("*.py"))
    }


def absolute(module: Module, node: ast.ImportFrom) -> str:
    """The module a `from ... import` names, relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    base = module.package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def deepest_module(dotted: str, known: dict[str, Module]) -> str | None:
    """The longest prefix of `dotted` that is a project module, if any."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in known:
            return prefix
    return None


def within(name: str, *packages: str) -> bool:
    """`name` is one of the packages or modules, or inside one."""
    return any(name == package or name.startswith(package + ".") for package in packages)


def parse(module: Module) -> ast.Module:
    return ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))


def referenced_by_imports(module: Module) -> Iterator[tuple[int, str, str, str]]:
    """(line, dotted name imported, local name bound, what that name is) for every import
    of the file, wherever it is, relative imports made absolute; star imports left out.

    `import a.b` gives ("a.b", "a", "a"); `import a.b as n` ("a.b", "n", "a.b");
    `from a import b as n` ("a.b", "n", "a.b")."""
    for node in ast.walk(parse(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    yield node.lineno, alias.name, alias.asname, alias.name
                else:
                    top = alias.name.split(".")[0]
                    yield node.lineno, alias.name, top, top
        elif isinstance(node, ast.ImportFrom):
            source = absolute(module, node)
            for alias in node.names:
                if alias.name != "*":
                    dotted = f"{source}.{alias.name}"
                    yield node.lineno, dotted, alias.asname or alias.name, dotted


def import_edges(modules: dict[str, Module]) -> list[Edge]:
    """Every import from one project module of another: `from a import b` is an import of
    a.b when that is a module, else of a (as import-linter and grimp count them)."""
    edges: set[Edge] = set()
    for module in modules.values():
        for node in ast.walk(parse(module)):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = absolute(module, node)
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            else:
                continue
            for target in targets:
                imported = deepest_module(target, modules)
                if imported is not None and imported != module.name:
                    edges.add(Edge(module.name, imported, node.lineno))
    return sorted(edges, key=lambda e: (e.importer, e.line, e.imported))


def where(edge: Edge, modules: dict[str, Module], root: Path) -> str:
    return f"{modules[edge.importer].path.relative_to(root)}:{edge.line}"


# --- (a) cycles


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components, iteratively (a deep import chain needs no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def shortest_cycle_through(start: str, graph: dict[str, set[str]], within: set[str]) -> list[str]:
    """start → … → start, fewest steps, staying inside one component."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & within):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if child not in came_from:
                came_from[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is on no cycle")


def import_cycles(root: Path, packages: Iterable[str]) -> list[str]:
    """Each cycle as a chain `a → b → a [a.py:3, b.py:7]`: in every group of modules that
    import each other, the shortest cycle through each member (the same cycle once)."""
    modules = modules_under(root, packages)
    edges = import_edges(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    first_line: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        graph[edge.importer].add(edge.imported)
        first_line.setdefault((edge.importer, edge.imported), edge)
    chains: list[str] = []
    for component in strongly_connected(graph):
        if len(component) < 2:
            continue
        seen: set[tuple[str, ...]] = set()
        for member in component:
            cycle = shortest_cycle_through(member, graph, set(component))
            # The same cycle from another member is a rotation of it: keep it once.
            ring = cycle[:-1]
            turn = ring.index(min(ring))
            ring = ring[turn:] + ring[:turn]
            if tuple(ring) in seen:
                continue
            seen.add(tuple(ring))
            cycle = [*ring, ring[0]]
            steps = [first_line[pair] for pair in itertools.pairwise(cycle)]
            lines = ", ".join(where(step, modules, root) for step in steps)
            chains.append(f"{' → '.join(cycle)} [{lines}]")
    return sorted(chains)


def test_no_import_cycle_among_the_projects_modules() -> None:
    cycles = import_cycles(ROOT, APP_PACKAGES)
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


# --- (b) private names

# Names that start with an underscore but are public API: Django's model options.
PUBLIC_UNDERSCORED = {"_meta"}


def is_private(name: str) -> bool:
    return (
        name.startswith("_")
        and not (name.startswith("__") and name.endswith("__"))
        and name not in PUBLIC_UNDERSCORED
    )


def dotted_attribute(node: ast.expr) -> tuple[str, list[str]] | None:
    """`a.b.c` as ("a", ["b", "c"]); None unless it is names and attributes only."""
    attributes: list[str] = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return node.id, list(reversed(attributes))
    return None


DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.\w+)+")


def private_use(importer: Module, dotted: str, owners: dict[str, Module]) -> str | None:
    """The private part of `dotted` if `importer` may not use it, else None.

    The owner of a name is the module it is defined in (the deepest project module in the
    dotted path); only that module uses it, except that a package's own `__init__` may
    re-export its submodules' names, and a private submodule `pkg._x` is the package's own:
    modules inside `pkg` may import it."""
    owner = deepest_module(dotted, owners)
    if owner is None:
        return None
    parts = dotted.split(".")
    owner_parts = owner.split(".")
    # A private module in the path: it belongs to its package.
    for depth in range(1, len(owner_parts)):
        if is_private(owner_parts[depth]):
            package = ".".join(owner_parts[:depth])
            if not within(importer.name, package):
                return ".".join(owner_parts[: depth + 1])
    rest = parts[len(owner_parts) :]
    for depth, name in enumerate(rest):
        if is_private(name):
            if importer.name == owner:
                return None
            if depth == 0 and importer.is_package and owner.startswith(importer.name + "."):
                return None  # a package's __init__ re-exports from its submodules
            return ".".join([owner, *rest[: depth + 1]])
    return None


def private_uses_in(importer: Module, owners: dict[str, Module]) -> Iterator[tuple[int, str]]:
    """(line, private name) for every use of another module's private name in the file:
    `from x import _y`, `x._y` where `x` is an imported module, `"x._y"` in a string (as
    `monkeypatch.setattr` takes it) and `(x, "_y")` as setattr/getattr/patch.object take it."""
    bound: dict[str, str] = {}
    for line, dotted, local, target in referenced_by_imports(importer):
        bound[local] = target
        found = private_use(importer, dotted, owners)
        if found:
            yield line, found
    for node in ast.walk(parse(importer)):
        references: list[str] = []
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            chain = dotted_attribute(node)
            if chain and chain[0] in bound:
                references.append(".".join([bound[chain[0]], *chain[1]]))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and DOTTED.fullmatch(node.value)
        ):
            references.append(node.value)
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            target, name = node.args[0], node.args[1]
            chain = dotted_attribute(target)
            if (
                chain
                and chain[0] in bound
                and isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and is_private(name.value)
            ):
                references.append(".".join([bound[chain[0]], *chain[1], name.value]))
        for dotted in references:
            found = private_use(importer, dotted, owners)
            if found:
                yield node.lineno, found


def private_names_used(root: Path, packages: Iterable[str], *, with_tests: bool) -> list[str]:
    """`file:line uses owner._name` for each use of another module's private name.

    Names are owned by the project's modules (and, for tests, by tests' own modules); the
    users are those modules, plus tests/ and the bench/ scripts when `with_tests`."""
    owners = modules_under(root, packages)
    users = dict(owners)
    if with_tests:
        tests = modules_under(root, ["tests"])
        owners |= tests
        users |= tests | bench_scripts(root)
    return [
        f"{module.path.relative_to(root)}:{line} uses {name}"
        for module in users.values()
        for line, name in sorted(set(private_uses_in(module, owners)))
    ]


def test_no_module_of_the_project_uses_another_modules_private_name() -> None:
    found = private_names_used(ROOT, APP_PACKAGES, with_tests=False)
    assert found == [], "private names used:\n" + "\n".join(found)


def test_tests_and_bench_use_no_private_name_of_the_app() -> None:
    found = private_names_used(ROOT, APP_PACKAGES, with_tests=True)
    found = [use for use in found if use.startswith(("tests/", "bench/"))]
    assert found == [], "private names of the app used:\n" + "\n".join(found)


# --- (c) the direction of DESIGN.md

DOORS = ("web", "api", "evaluations.admin", "evaluations.management")
ENGINE = "evaluations.engine"
ENGINE_USERS = ("evaluations.tasks",)
SERVICES = "evaluations.services"


def direction_violations(root: Path, packages: Iterable[str]) -> list[str]:
    """`file:line: rule: importer imports imported` for each import against DESIGN.md."""
    modules = modules_under(root, packages)
    found = []
    for edge in import_edges(modules):
        importer, imported = edge.importer, edge.imported
        rules = []
        domain = within(importer, "evaluations") and not within(importer, *DOORS)
        if domain and within(imported, *DOORS):
            rules.append("the domain imports a door")
        if within(imported, ENGINE) and not within(importer, ENGINE, *ENGINE_USERS):
            rules.append("only the tasks import the engine")
        if within(importer, SERVICES) and within(imported, ENGINE, "evaluations.tasks"):
            rules.append("services import neither the engine nor the tasks")
        found += [
            f"{where(edge, modules, root)}: {rule}: {importer} imports {imported}" for rule in rules
        ]
    return found


def test_imports_run_from_the_doors_to_services_and_from_tasks_to_the_engine() -> None:
    found = direction_violations(ROOT, APP_PACKAGES)
    assert found == [], "imports against DESIGN.md:\n" + "\n".join(found)


# --- (d) the doors reach the domain through its front

# What a door may import of the domain (`evaluations`): the services (writes) and the
# selectors (reads), as DESIGN.md draws it, and the models. The models are allowed
# because a door speaks in their terms without any logic of theirs: the admin registers
# them, a view's access check looks a row up by its owner (web/views/access.py), forms and
# templates name a status or a choice (`Run.Status.PAUSED`, `File.Purpose.BATCH`) and a
# signature names a type. Anything else (csvio, export, metrics, llm, prompting, …) is the
# domain's inside: the doors get it through a service or a selector. Besides the domain, a
# door imports what the doors share (`hrbatch.http`, `hrbatch.uploads`, …), its own forms
# and templates, and libraries.
DOOR_MAY_IMPORT = ("evaluations.services", "evaluations.selectors", "evaluations.models")


def is_door(name: str) -> bool:
    return within(name, *DOORS)


def door_imports_of_the_domain_inside(
    root: Path, packages: Iterable[str], *, skip: Iterable[str] = ()
) -> list[str]:
    """`file:line: importer imports imported` for each import by a door of a domain module
    that is not its front (DOOR_MAY_IMPORT); the doors themselves are not the domain."""
    modules = modules_under(root, packages)
    skipped = set(skip)
    found = []
    for edge in import_edges(modules):
        importer, imported = edge.importer, edge.imported
        path = str(modules[importer].path.relative_to(root))
        if path in skipped or not is_door(importer) or is_door(imported):
            continue
        if within(imported, "evaluations") and not within(imported, *DOOR_MAY_IMPORT):
            found.append(f"{where(edge, modules, root)}: {importer} imports {imported}")
    return found


def test_the_doors_import_of_the_domain_only_services_selectors_and_models() -> None:
    found = door_imports_of_the_domain_inside(ROOT, APP_PACKAGES)
    assert found == [], "doors reaching past services and selectors:\n" + "\n".join(found)


def services_exported_unused(root: Path, packages: Iterable[str]) -> list[str]:
    """The names `evaluations.services` exports (its `__all__`) that no door uses, as
    `services.name` or `from evaluations.services import name`: the front holds what the
    doors call and nothing else, so that one thing has one spelling."""
    modules = modules_under(root, packages)
    front = modules.get(SERVICES)
    if front is None:
        return []
    exported: list[str] = []
    for node in ast.walk(parse(front)):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__all__" for target in node.targets
        ):
            exported = [ast.literal_eval(element) for element in node.value.elts]  # type: ignore[attr-defined]
    used: set[str] = set()
    for name, module in modules.items():
        if not is_door(name):
            continue
        for node in ast.walk(parse(module)):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "services"
            ):
                used.add(node.attr)
            elif isinstance(node, ast.ImportFrom) and node.module == SERVICES:
                used.update(alias.name for alias in node.names)
    return sorted(set(exported) - used)


def test_the_services_front_exports_only_what_the_doors_use() -> None:
    unused = services_exported_unused(ROOT, APP_PACKAGES)
    assert unused == [], (
        "exported by evaluations/services/__init__.py and used by no door (import it from"
        " its submodule instead):\n" + "\n".join(unused)
    )


def test_the_export_check_sees_attributes_and_from_imports_of_doors_only(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "evaluations/__init__.py": "",
            "evaluations/services/__init__.py": (
                "from .runs import run_start, run_pause, run_cancel, run_dispatch\n"
                "__all__ = ['run_cancel', 'run_dispatch', 'run_pause', 'run_start']\n"
            ),
            "evaluations/services/runs.py": "",
            "evaluations/tasks.py": "from evaluations import services\nservices.run_dispatch()\n",
            "web/__init__.py": "",
            "web/views.py": "from evaluations import services\nservices.run_start()\n",
            "api/__init__.py": "",
            "api/views.py": "from evaluations.services import run_pause\n",
        },
    )

    assert services_exported_unused(tmp_path, APP_PACKAGES) == ["run_cancel", "run_dispatch"]


# --- (e) short functions

FUNCTION_LINES_MAX = 80
SHORT_FUNCTION_PACKAGES = ("evaluations", "web", "api")


def long_functions(root: Path, packages: Iterable[str], *, skip: Iterable[str] = ()) -> list[str]:
    """`file:line name (N lines)` for every function or method, nested ones included, of
    more than FUNCTION_LINES_MAX lines (its decorators aside); migrations left out."""
    skipped = set(skip)
    found = []
    for module in modules_under(root, packages).values():
        path = str(module.path.relative_to(root))
        if path in skipped:
            continue
        for node in ast.walk(parse(module)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > FUNCTION_LINES_MAX and f"{path}::{node.name}" not in skipped:
                found.append(f"{path}:{node.lineno} {node.name} ({lines} lines)")
    return sorted(found)


def test_no_function_of_the_app_is_longer_than_80_lines() -> None:
    found = long_functions(ROOT, SHORT_FUNCTION_PACKAGES)
    assert found == [], "functions to split into named steps:\n" + "\n".join(found)


# --- Self-tests: each check fails on a planted violation


def plant(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_cycle_check_sees_imports_in_functions_and_relative_imports(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "evaluations/__init__.py": "",
            "evaluations/models.py": "",
            "evaluations/services/__init__.py": "from .runs import run_start\n",
            "evaluations/services/runs.py": (
                "from evaluations import models\n"
                "def run_start():\n"
                "    from ..batches import batch_create\n"
            ),
            "evaluations/batches.py": "from . import export\nfrom .services import runs\n",
            "evaluations/export.py": "import json\ndef write():\n    import evaluations.batches\n",
            "web/__init__.py": "",
            "web/views.py": "from web import forms\n",
            "web/forms.py": "import web.views as views\n",
            "web/urls.py": "from . import views\n",
        },
    )

    assert import_cycles(tmp_path, APP_PACKAGES) == [
        "evaluations.batches → evaluations.export → evaluations.batches"
        " [evaluations/batches.py:1, evaluations/export.py:3]",
        "evaluations.batches → evaluations.services.runs → evaluations.batches"
        " [evaluations/batches.py:2, evaluations/services/runs.py:3]",
        "web.forms → web.views → web.forms [web/forms.py:1, web/views.py:1]",
    ]


def test_the_private_name_check_sees_imports_attributes_and_strings(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "evaluations/__init__.py": "",
            "evaluations/models.py": "class Run:\n    pass\n",
            "evaluations/services/__init__.py": (
                "from ._internal import helper\nfrom .runs import _dispatch, run_start\n"
            ),
            "evaluations/services/_internal.py": "def helper(): pass\n",
            "evaluations/services/runs.py": (
                "from . import _internal\n"  # its own package's private module: fine
                "def _dispatch(): pass\n"
                "def run_start(): _dispatch()\n"
            ),
            "evaluations/engine.py": (
                "from evaluations.services import runs\n"
                "from evaluations.models import Run\n"
                "def go():\n"
                "    from .services.runs import _dispatch\n"
                "    runs._dispatch()\n"
                "    Run._meta, Run.__name__\n"
                "class _Loop:\n"
                "    def _call(self): pass\n"
            ),
            "evaluations/export.py": "from evaluations.services._internal import helper\n",
            "bench/ceiling.py": (
                "from evaluations import engine\n"
                "engine._Loop._call = None\n"
                "engine.go()\n"
                "import evaluations.services.runs\n"
                "evaluations.services.runs._dispatch()\n"
            ),
            "tests/__init__.py": "",
            "tests/support/__init__.py": "",
            "tests/support/runs.py": "def _slow(): pass\n",
            "tests/test_x.py": (
                "import evaluations.engine as eng\n"
                "from tests.support import runs\n"
                "def test(monkeypatch):\n"
                '    monkeypatch.setattr("evaluations.services.runs._dispatch", None)\n'
                '    monkeypatch.setattr(eng, "_Loop", None)\n'
                "    runs._slow()\n"
            ),
        },
    )

    assert private_names_used(tmp_path, APP_PACKAGES, with_tests=False) == [
        "evaluations/engine.py:4 uses evaluations.services.runs._dispatch",
        "evaluations/engine.py:5 uses evaluations.services.runs._dispatch",
        "evaluations/export.py:1 uses evaluations.services._internal",
    ]
    assert private_names_used(tmp_path, APP_PACKAGES, with_tests=True)[3:] == [
        "tests/test_x.py:4 uses evaluations.services.runs._dispatch",
        "tests/test_x.py:5 uses evaluations.engine._Loop",
        "tests/test_x.py:6 uses tests.support.runs._slow",
        "bench/ceiling.py:2 uses evaluations.engine._Loop",
        "bench/ceiling.py:5 uses evaluations.services.runs._dispatch",
    ]


def test_the_direction_check_sees_each_rule_broken(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "evaluations/__init__.py": "",
            "evaluations/models.py": "",
            "evaluations/admin.py": "from . import services\n",
            "evaluations/management/__init__.py": "",
            "evaluations/management/commands/__init__.py": "",
            "evaluations/management/commands/evaluate.py": "from evaluations import services\n",
            "evaluations/services/__init__.py": "from .runs import run_start\n",
            "evaluations/services/runs.py": (
                "def run_start():\n"
                "    from evaluations import tasks\n"
                "    from evaluations.engine.worker import process_chunk\n"
            ),
            "evaluations/engine/__init__.py": "from .worker import process_chunk\n",
            "evaluations/engine/worker.py": "from evaluations.engine import handlers\n",
            "evaluations/engine/handlers.py": "from evaluations import models\n",
            "evaluations/tasks.py": "from evaluations.engine import process_chunk\n",
            "evaluations/notify.py": (
                "from evaluations.management.commands import evaluate\nimport web.views\n"
            ),
            "evaluations/export.py": "from evaluations.engine import handlers\n",
            "web/__init__.py": "",
            "web/views.py": "from evaluations import services\nfrom evaluations import engine\n",
            "api/__init__.py": "",
            "api/views.py": "from evaluations import admin\n",
        },
    )

    assert direction_violations(tmp_path, APP_PACKAGES) == [
        "evaluations/export.py:1: only the tasks import the engine:"
        " evaluations.export imports evaluations.engine.handlers",
        "evaluations/notify.py:1: the domain imports a door:"
        " evaluations.notify imports evaluations.management.commands.evaluate",
        "evaluations/notify.py:2: the domain imports a door: evaluations.notify imports web.views",
        "evaluations/services/runs.py:2: services import neither the engine nor the tasks:"
        " evaluations.services.runs imports evaluations.tasks",
        "evaluations/services/runs.py:3: only the tasks import the engine:"
        " evaluations.services.runs imports evaluations.engine.worker",
        "evaluations/services/runs.py:3: services import neither the engine nor the tasks:"
        " evaluations.services.runs imports evaluations.engine.worker",
        "web/views.py:2: only the tasks import the engine: web.views imports evaluations.engine",
    ]


def test_the_door_check_sees_each_door_reach_past_the_front(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "evaluations/__init__.py": "",
            "evaluations/models.py": "",
            "evaluations/selectors.py": "",
            "evaluations/csvio.py": "",
            "evaluations/export.py": "",
            "evaluations/llm/__init__.py": "",
            "evaluations/services/__init__.py": "",
            "evaluations/services/runs.py": "from evaluations import csvio\n",
            "evaluations/admin.py": (
                "from . import models, services\nfrom .services.runs import run_start\n"
                "from .export import x\n"
            ),
            "evaluations/management/__init__.py": "",
            "evaluations/management/commands/__init__.py": "",
            "evaluations/management/commands/serve.py": (
                "from evaluations import selectors\n"
                "def handle():\n"
                "    from evaluations.llm import resolve_backend\n"
            ),
            "evaluations/management/commands/evaluate.py": "from evaluations import csvio\n",
            "web/__init__.py": "",
            "web/forms.py": "from evaluations.models import Rubric\n",
            "web/views.py": (
                "from hrbatch import http\nfrom web import forms\n"
                "from evaluations import csvio, services\n"
            ),
            "api/__init__.py": "",
            "api/views.py": "import evaluations.export\nfrom evaluations.services import runs\n",
        },
    )

    assert door_imports_of_the_domain_inside(
        tmp_path, APP_PACKAGES, skip={"evaluations/management/commands/evaluate.py"}
    ) == [
        "api/views.py:1: api.views imports evaluations.export",
        "evaluations/admin.py:3: evaluations.admin imports evaluations.export",
        "evaluations/management/commands/serve.py:3:"
        " evaluations.management.commands.serve imports evaluations.llm",
        "web/views.py:3: web.views imports evaluations.csvio",
    ]


def lines_of(count: int, indent: str = "    ") -> str:
    return "".join(f"{indent}x{n} = {n}\n" for n in range(count))


def test_the_length_check_counts_every_function_and_skips_migrations(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "evaluations/__init__.py": "",
            "evaluations/short.py": f"def fits():\n{lines_of(79)}",
            "evaluations/long.py": (
                f"@decorated\ndef one_too_many():\n{lines_of(80)}"
                f"class Worker:\n    async def work(self):\n{lines_of(78, ' ' * 8)}"
                "        def step():\n            pass\n"
            ),
            "evaluations/pending.py": f"def left():\n{lines_of(80)}def also():\n{lines_of(80)}",
            "evaluations/migrations/0001_initial.py": f"def forwards():\n{lines_of(80)}",
            "web/__init__.py": "",
            "web/views.py": f"def page():\n{lines_of(81)}",
        },
    )

    assert long_functions(
        tmp_path, SHORT_FUNCTION_PACKAGES, skip={"evaluations/pending.py::left"}
    ) == [
        "evaluations/long.py:2 one_too_many (81 lines)",
        "evaluations/long.py:84 work (81 lines)",
        "evaluations/pending.py:82 also (81 lines)",
        "web/views.py:1 page (82 lines)",
    ]
