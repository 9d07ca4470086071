"""requirements.lock cannot drift from pyproject.toml: every dependency named there (runtime,
the test extra, the build backend, and what their extras pull in) is pinned to one version
that pyproject.toml allows, with its hashes; and the tests run on exactly those versions
(README.md, "Dependencies")."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Pin:
    version: Version
    hashes: tuple[str, ...]


def read_lock(path: Path) -> dict[str, Pin]:
    """name -> pin of a lock file written by pip-compile --generate-hashes."""
    text = re.sub(r"\\\n", " ", path.read_text())
    pins: dict[str, Pin] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *hashes = line.split()
        req = Requirement(requirement)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{path.name}: {line!r} is not pinned"
        assert hashes and all(HASH.match(h) for h in hashes), f"{path.name}: {req.name} has no hashes"
        pins[canonicalize_name(req.name)] = Pin(Version(specs[0].version), tuple(hashes))
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [Requirement(r) for r in (*project["project"]["dependencies"],
                                     *project["project"]["optional-dependencies"]["test"],
                                     *project["build-system"]["requires"])]


@pytest.fixture(scope="module")
def lock() -> dict[str, Pin]:
    return read_lock(ROOT / "requirements.lock")


def test_every_declared_dependency_is_pinned_within_its_range(lock):
    for req in declared():
        pin = lock.get(canonicalize_name(req.name))
        assert pin is not None, f"{req.name} is in pyproject.toml but not in requirements.lock: make lock"
        assert pin.version in req.specifier, (
            f"requirements.lock pins {req.name}=={pin.version}, outside pyproject.toml's {req.specifier}")


def test_what_the_declared_extras_pull_in_is_pinned_too(lock):
    # celery[redis] needs redis, psycopg[binary] psycopg-binary: read from the packages' metadata.
    for req in declared():
        for extra in req.extras:
            needs = [Requirement(r) for r in metadata.requires(req.name) or []]
            wanted = [n for n in needs if n.marker and n.marker.evaluate({"extra": extra})]
            assert wanted, f"{req.name}[{extra}] pulls in nothing"
            for need in wanted:
                assert canonicalize_name(need.name) in lock, f"{req.name}[{extra}] needs {need.name}"


def test_every_locked_package_has_its_own_dependencies_locked(lock):
    for name in lock:
        for raw in metadata.requires(name) or []:
            need = Requirement(raw)
            if need.marker is None or need.marker.evaluate({"extra": ""}):
                assert canonicalize_name(need.name) in lock, f"{name} needs {need.name}, not in the lock"


def test_the_tests_run_on_the_locked_versions(lock):
    # pip and setuptools are the installer's own; setuptools builds only Amparo itself.
    for name, pin in lock.items():
        if name == "setuptools":
            continue
        assert Version(metadata.version(name)) == pin.version, (
            f"{name} {metadata.version(name)} is installed, requirements.lock says {pin.version}: "
            "make install")


def test_the_tools_lock_pins_every_tool_with_hashes():
    tools = read_lock(ROOT / "requirements" / "tools.lock")
    named = [line.strip() for line in (ROOT / "requirements" / "tools.in").read_text().splitlines()
             if line.strip() and not line.startswith("#")]

    assert named
    for name in named:
        assert canonicalize_name(name) in tools, f"{name} is in requirements/tools.in but not locked"


@pytest.mark.parametrize(("text", "problem"), [
    ("django>=5.2 \\\n    --hash=sha256:" + "a" * 64 + "\n", "is not pinned"),
    ("django==5.2.20\n", "has no hashes"),
    ("django==5.2.20 \\\n    --hash=md5:abc\n", "has no hashes"),
])
def test_a_lock_without_exact_pins_and_hashes_is_refused(tmp_path, text, problem):
    path = tmp_path / "requirements.lock"
    path.write_text(text)

    with pytest.raises(AssertionError, match=problem):
        read_lock(path)
