"""The package's metadata agrees with itself: licence, lower bounds, CI pins and conda env.

``make test-lowest`` runs the suite on ``.ci/constraints-lowest.txt``; these checks make sure
that file pins exactly the lower bounds ``pyproject.toml`` declares (so the CI job tests what
users are promised), and that the conda environment of the rules asks for the same bounds.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def _lower_bounds(requirements: list[str]) -> dict[str, str]:
    bounds = {}
    for text in requirements:
        req = Requirement(text)
        lows = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lows) == 1, f"pyproject.toml: {text!r} needs exactly one '>=' lower bound"
        bounds[req.name.lower()] = lows[0]
    return bounds


RUNTIME = _lower_bounds(PROJECT["dependencies"])
TEST = _lower_bounds(PROJECT["optional-dependencies"]["test"])


def test_license_file_matches_the_declared_expression():
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "WITHOUT WARRANTY OF ANY KIND" in text


def test_build_backend_can_read_the_license_expression():
    # PEP 639 license expressions (`license = "MIT"`) need setuptools >= 77.
    requires = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    setuptools = next(r for r in requires if r.name == "setuptools")
    assert any(s.operator == ">=" and int(s.version.split(".")[0]) >= 77
               for s in setuptools.specifier)


def test_metadata_names_authors_and_classifiers():
    assert PROJECT["authors"] and all(a.get("name") for a in PROJECT["authors"])
    classifiers = PROJECT["classifiers"]
    assert "Programming Language :: Python :: 3.11" in classifiers
    # PEP 639: the licence is the expression above, never a classifier as well.
    assert not [c for c in classifiers if c.startswith("License ::")]


def test_lowest_constraints_pin_exactly_the_lower_bounds():
    pins = {}
    for raw in (ROOT / ".ci" / "constraints-lowest.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    assert pins == {**RUNTIME, **TEST}


def test_conda_environment_asks_for_the_same_lower_bounds():
    env = yaml.safe_load((ROOT / "workflow" / "envs" / "ketamine-evidence.yaml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*(\S+)", dep)
            if match:
                conda[match.group(1).lower()] = match.group(2)
    conda["matplotlib"] = conda.pop("matplotlib-base")
    # The rules' environment runs the package, not Snakemake itself (nor its --report).
    expected = {name: v for name, v in RUNTIME.items() if name not in ("snakemake", "pygments")}
    assert {name: conda.get(name) for name in expected} == expected
    assert conda["python"] == PROJECT["requires-python"].removeprefix(">=")


def test_conda_post_deploy_installs_the_checkout_editable():
    script = (ROOT / "workflow" / "envs" / "ketamine-evidence.post-deploy.sh").read_text()
    assert re.search(r"pip install .*--editable \.", script)


def test_type_checker_is_configured_on_existing_files():
    # `make typecheck` (part of `make test`) runs mypy on these; a moved module must move here.
    mypy = PYPROJECT["tool"]["mypy"]
    assert mypy["disallow_untyped_defs"] is True
    missing = [f for f in mypy["files"] if not (ROOT / f).exists()]
    assert not missing, f"[tool.mypy] files that do not exist: {missing}"
    assert "mypy" in TEST
