"""environment.yml (conda) and pyproject.toml (pip) describe the same dependencies, and requirements.lock
pins exactly what they need at versions their ranges admit."""
from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from analysis.publish import site

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def _name_spec(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_conda_and_pip_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = dict(_name_spec(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            name, spec = _name_spec(item)
            conda[CONDA_TO_PYPI.get(name, name)] = spec
    conda.pop("python"), conda.pop("pip")
    assert conda == pip, f"only in environment.yml: {set(conda) - set(pip)}; only in pyproject: {set(pip) - set(conda)}"


# ------------------------------------------------------------------------------------------ the lock file
LOCK = ROOT / "requirements.lock"
PROJECT = "county-evaluation"


def _lock_entries(path: Path = LOCK) -> list[tuple[Requirement, list[str]]]:
    """Each requirement of a hash-pinned lock file with its ``--hash`` values."""
    entries = []
    for line in path.read_text().replace("\\\n", " ").splitlines():
        line = line.split("#", 1)[0] if line.lstrip().startswith("#") else line
        if not line.strip():
            continue
        spec, *hashes = re.split(r"\s+--hash=", line.strip())
        if "#" in spec:  # a trailing comment
            spec = spec.split(" #", 1)[0]
        entries.append((Requirement(spec), [h.strip() for h in hashes]))
    return entries


def _applies(req: Requirement, extra: str = "") -> bool:
    return req.marker is None or req.marker.evaluate({"extra": extra})


def _pin(req: Requirement) -> str:
    (spec,) = req.specifier
    assert spec.operator == "==", f"{req} is not pinned to one version"
    return spec.version


def _declared() -> list[Requirement]:
    """pyproject.toml's requirements: the build system's, the dependencies and the test extra."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    return [Requirement(r) for r in meta["build-system"]["requires"] + project["dependencies"]
            + project["optional-dependencies"]["test"]]


def _locked_here() -> dict[str, str]:
    """Locked name -> version, for the lock lines that apply to this platform and Python."""
    return {canonicalize_name(req.name): _pin(req) for req, _ in _lock_entries() if _applies(req)}


def test_lock_pins_every_package_with_hashes():
    entries = _lock_entries()
    assert len(entries) > 50
    for req, hashes in entries:
        _pin(req)
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), req
    here = [canonicalize_name(req.name) for req, _ in entries if _applies(req)]
    assert len(here) == len(set(here)), "a package is pinned twice for this platform"


def test_lock_admits_pyproject_and_environment_ranges():
    locked: dict[str, list[str]] = {}
    for req, _ in _lock_entries():
        locked.setdefault(canonicalize_name(req.name), []).append(_pin(req))
    for req in _declared():
        versions = locked.get(canonicalize_name(req.name))
        assert versions, f"{req.name} (pyproject.toml) is not in requirements.lock: run 'make lock'"
        assert all(req.specifier.contains(v, prereleases=True) for v in versions), (req, versions)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    for dep in env["dependencies"]:
        for item in dep["pip"] if isinstance(dep, dict) else [dep]:
            name, spec = _name_spec(item)
            name = CONDA_TO_PYPI.get(name, name)
            if name in ("python", "pip"):
                continue
            versions = locked.get(canonicalize_name(name))
            assert versions, f"{name} (environment.yml) is not in requirements.lock"
            assert all(SpecifierSet(spec).contains(v, prereleases=True) for v in versions), (name, spec, versions)


def _needed_here() -> set[str]:
    """What pyproject.toml needs on this platform: its requirements and, through the installed packages'
    metadata, theirs (markers evaluated here, with the extras each package is asked for)."""
    todo = [(canonicalize_name(req.name), extra) for req in _declared() if _applies(req)
            for extra in ("", *req.extras)]
    seen: set[tuple[str, str]] = set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen or name == PROJECT:
            continue
        seen.add((name, extra))
        for line in metadata.requires(name) or []:  # PackageNotFoundError: a needed package is not installed
            sub = Requirement(line)
            if _applies(sub, extra):
                todo += [(canonicalize_name(sub.name), e) for e in ("", *sub.extras)]
    return {name for name, _ in seen} - {PROJECT}


def test_lock_holds_exactly_what_pyproject_needs_here():
    """Lock lines for this platform == the transitive requirements of pyproject.toml here; the lines for
    other platforms or Pythons (markers false here) are left to the resolver that wrote them."""
    locked, needed = set(_locked_here()), _needed_here()
    assert not needed - locked, f"needed but not locked (run 'make lock'): {sorted(needed - locked)}"
    assert not locked - needed, f"locked but not needed by pyproject.toml: {sorted(locked - needed)}"


def test_this_environment_is_the_locked_one():
    """The installed versions are the locked ones (``make env`` installs from the lock)."""
    differ = {}
    for name, version in _locked_here().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            differ[name] = (version, installed)
    assert not differ, f"locked vs installed (run 'make env'): {differ}"


def test_manifest_records_the_lock_files_hash(tmp_path):
    start = datetime(2025, 3, 1, tzinfo=UTC)
    manifest = site.build_manifest(data_dir=tmp_path, data_digest="abc", data_files=0, parameters={},
                                   notebooks={}, code_hash="def", started=start, finished=start, commit="c0",
                                   packages={"python": "3.11"})
    assert manifest["lock_file"] == "requirements.lock"
    assert manifest["lock_hash"] == hashlib.sha256(LOCK.read_bytes()).hexdigest()
    other = tmp_path / "other.lock"
    other.write_bytes(b"numpy==2.0 --hash=sha256:" + b"0" * 64 + b"\n")
    manifest = site.build_manifest(data_dir=tmp_path, data_digest="abc", data_files=0, parameters={},
                                   notebooks={}, code_hash="def", started=start, finished=start, commit="c0",
                                   packages={"python": "3.11"}, lock_file=other)
    assert (manifest["lock_file"], manifest["lock_hash"]) == ("other.lock", hashlib.sha256(other.read_bytes()).hexdigest())
    assert site.lock_hash(tmp_path / "absent.lock") == "missing"
    page = site.render_index(runs=pd.DataFrame(columns=list(site.RUN_COLUMNS)),
                             pages=pd.DataFrame(columns=["region", "notebook", "status", "html"]),
                             manifest=manifest, lang="en", notebooks=[])
    assert "other.lock" in page and manifest["lock_hash"] in page
