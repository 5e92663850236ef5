"""The manual is tested like the code it describes.

The README's commands run as it shows them (the `manage.py` commands against a fake model
server, its `openai` snippet against a live `serve`), every flag the manual shows exists
and every flag a command has is in the manual, every repository path it names exists (and
every function "Reading the code" names is still defined), every variable the settings
read is documented, the README stays a five-minute read, and `docs/` builds as a site
without a broken link.
"""

from __future__ import annotations

import csv
import functools
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools import live
from devtools.fake_ollama import FakeOllama

ROOT = live.ROOT
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
MANAGE = ".venv/bin/python manage.py"
# hrbatch's own commands: every flag they take must be in docs/cli.md.
OWN_COMMANDS = (
    "serve",
    "generate_candidates",
    "evaluate",
    "run_report",
    "probe_backend",
    "create_api_key",
)
# Options every Django command has; not hrbatch's to document.
DJANGO_OPTIONS = {
    "--help",
    "--version",
    "--verbosity",
    "--settings",
    "--pythonpath",
    "--traceback",
    "--no-color",
    "--force-color",
    "--skip-checks",
}
# What a path named in the manual may start with: the repository's own folders and files.
REPO_FOLDERS = (
    "api/",
    "bench/",
    "devtools/",
    "docs/",
    "evaluations/",
    "hrbatch/",
    "scripts/",
    "static/",
    "templates/",
    "tests/",
    "web/",
)
REPO_FILES = {"manage.py", "Makefile", "pyproject.toml", "mkdocs.yml", "README.md"}
APP_CODE = ("hrbatch", "evaluations", "web", "api", "devtools", "tests/support")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _blocks(text: str, *languages: str) -> list[str]:
    """The fenced code blocks of `text` in these languages, in order."""
    found = re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.M | re.S)
    return [m.group(2) for m in found if m.group(1) in languages]


def _command_lines(text: str) -> list[str]:
    """Every `manage.py` command line of the shell blocks, continuations joined."""
    lines = []
    for block in _blocks(text, "sh", "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith(MANAGE):
                lines.append(line)
    return lines


@functools.cache
def _help(command: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"manage.py {command} --help failed:\n{done.stderr}"
    return done.stdout


def _flags(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", text))


# --- the README is a five-minute read ------------------------------------------------------


def test_the_readme_is_at_most_200_lines() -> None:
    lines = _text(README).splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines: move the detail to docs/"


def test_no_page_links_outside_the_repository() -> None:
    """A user's clone has nothing beside it (no ../shared): links stay inside."""
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", _text(page)):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            resolved = (page.parent / target.split("#")[0]).resolve()
            assert resolved.is_relative_to(ROOT), f"{page.name} links outside: {target}"
            assert resolved.exists(), f"{page.name} links to a missing file: {target}"


def test_the_set_up_commands_are_make_targets_that_exist() -> None:
    readme = _text(README)
    for target in ("run", "test"):
        assert f"make {target}" in readme
    for target in ("run", "test", "test-fast", "test-public-data", "lint", "docs"):
        done = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"make -n {target}: {done.stderr}"
    assert "manage.py serve" in subprocess.check_output(["make", "-n", "run"], cwd=ROOT, text=True)
    assert "mkdocs build --strict" in subprocess.check_output(
        ["make", "-n", "docs"], cwd=ROOT, text=True
    )


# --- every command and flag shown exists; every flag is shown ------------------------------


def test_every_manage_py_flag_the_manual_shows_exists() -> None:
    shown: dict[str, set[str]] = {}
    for page in PAGES:
        for line in _command_lines(_text(page)):
            command = line.removeprefix(MANAGE).split()[0]
            shown.setdefault(command, set()).update(_flags(line))
    assert set(OWN_COMMANDS) <= set(shown), "docs/cli.md shows every command"
    for command, flags in shown.items():
        unknown = flags - _flags(_help(command))
        assert not unknown, f"manage.py {command} has no {sorted(unknown)}"


def test_every_flag_of_every_hrbatch_command_is_in_the_command_line_page() -> None:
    cli = _text(DOCS / "cli.md")
    for command in OWN_COMMANDS:
        assert f"manage.py {command}" in cli
        for flag in sorted(_flags(_help(command)) - DJANGO_OPTIONS):
            assert re.search(rf"{flag}(?![\w-])", cli), f"docs/cli.md lacks {command} {flag}"


# --- every path named exists; "Reading the code" names what is there -----------------------


def _named_paths(text: str) -> set[str]:
    paths = set()
    for span in re.findall(r"`([^`\n]+)`", text):
        for token in span.split():
            token = token.strip("(),;:")
            named = token.startswith(REPO_FOLDERS) or token in REPO_FILES
            if named and re.fullmatch(r"[\w./-]+", token):
                paths.add(token)
    return paths


def test_every_repository_path_the_manual_names_exists() -> None:
    for page in PAGES:
        for path in sorted(_named_paths(_text(page))):
            assert (ROOT / path).exists(), f"{page.relative_to(ROOT)} names {path}: not there"


def _definitions() -> str:
    return "\n".join(
        _text(path)
        for folder in APP_CODE
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_every_name_reading_the_code_gives_is_defined() -> None:
    """So that "Reading the code" cannot rot: a renamed function fails here, by name."""
    code = _definitions()
    page = _text(DOCS / "reading-the-code.md")
    missing = []
    for span in set(re.findall(r"`([^`\n]+)`", page)):
        name = span.removesuffix("()")
        if not re.fullmatch(r"[A-Za-z_][\w.]*", name) or "/" in name or name.endswith(".py"):
            continue
        if len(name) < 2 or name.startswith("HRBATCH_") or name.isupper() or (ROOT / name).is_dir():
            continue
        last = name.split(".")[-1]
        if (ROOT / "evaluations" / "management" / "commands" / f"{last}.py").exists():
            continue  # a management command
        if not re.search(rf"(def|class)\s+{last}\b|^\s*{last}\s*[:=]", code, flags=re.M):
            missing.append(span)
    assert not missing, f"docs/reading-the-code.md names what the code lacks: {sorted(missing)}"


# --- every setting is documented ----------------------------------------------------------


def _variables_read() -> set[str]:
    names = set()
    for folder in APP_CODE:
        for path in (ROOT / folder).rglob("*.py"):
            names.update(re.findall(r"[\"'](HRBATCH_[A-Z0-9_]+)[\"']", _text(path)))
    settings = _text(ROOT / "hrbatch" / "settings.py")
    names.update(re.findall(r"env\w*\(\s*\"([A-Z][A-Z0-9_]+)\"", settings))
    return names


def test_every_environment_variable_the_code_reads_is_in_configuration() -> None:
    configuration = _text(DOCS / "configuration.md")
    names = _variables_read()
    assert {"HRBATCH_DATA_DIR", "HRBATCH_CONCURRENCY", "SECRET_KEY"} <= names  # the scan works
    missing = sorted(name for name in names if f"`{name}`" not in configuration)
    assert not missing, f"docs/configuration.md does not document {missing}"


# --- the manual builds as a site ------------------------------------------------------------


def test_the_manual_builds_strictly_as_a_site(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "reading-the-code" / "index.html").exists()


# --- the README's commands run as it shows them ----------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOllama]:
    with FakeOllama(slots=4, latency=0.01) as server:
        yield server


def _run(line: str, env: dict[str, str], cwd: Path, *extra: str) -> str:
    """A README line as a person types it: `.venv/bin/python` is this interpreter, and
    `manage.py` the checkout's; files are read and written in `cwd`."""
    args = shlex.split(line.removeprefix(MANAGE))
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args, *extra],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path: Path, fake: FakeOllama) -> None:
    readme = _text(README)
    env = live.app_env(tmp_path / "data", fake, DJANGO_SUPERUSER_PASSWORD="a long password 1")
    work = tmp_path / "work"
    work.mkdir()
    lines = _command_lines(readme)
    assert [line.removeprefix(MANAGE).split()[0] for line in lines] == [
        "createsuperuser",
        "generate_candidates",
        "evaluate",
        "run_report",
        "create_api_key",
    ]
    live.manage(env, "migrate", "-v", "0")
    # createsuperuser asks its questions; here they are answered the way --noinput allows.
    _run(lines[0], env, work, "--noinput", "--username", "hana", "--email", "hana@example.com")
    for line in lines[1:4]:
        said = _run(line, env, work)
    assert "Consistency" in said or "consistency" in said
    with open(work / "scored.csv", encoding="utf-8", newline="") as handle:
        scored = list(csv.DictReader(handle))
    assert len(scored) == 200 and all(row["overall"] for row in scored)
    key = _run(lines[4], env, work).strip()
    assert key.startswith("hrb_")
    assert "export HRBATCH_KEY=hrb_..." in readme

    (snippet,) = _blocks(readme, "python")
    process, url = live.start_serve(env)
    try:
        done = subprocess.run(
            [sys.executable, "-c", snippet.replace("http://127.0.0.1:4080", url)],
            cwd=work,
            env={**env, "HRBATCH_KEY": key},
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        live.stop_serve(process)
    assert done.returncode == 0, done.stderr
    answered = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("cand-")]
    assert sorted(answered) == ["cand-1", "cand-2"], done.stdout
