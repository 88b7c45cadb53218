"""The package's stages import only what their docstrings allow.

Each subpackage (and each top-level module) belongs to one stage of the pipeline; the
package docstring lists them in workflow order and each subpackage's docstring says what it
may import. This test reads every module's imports (with ``ast``, without importing
anything) and fails on an import that crosses the stages the wrong way, e.g. the pure
statistics core reaching for the config, or the analysis stage importing the claims.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ketamine_evidence

PACKAGE = Path(ketamine_evidence.__file__).resolve().parent
NAME = "ketamine_evidence"

#: shared by every stage (they import only each other, see ALLOWED)
SHARED = {"root", "types", "config", "tables", "wording", "provenance"}
#: the pure statistics core
CORE = {"effects", "conversions", "scales", "meta"}

#: stage -> the stages it may import (besides itself); "root" is the package's __init__
#: (its error and warning classes). Keep in step with the docstrings.
ALLOWED: dict[str, set[str]] = {
    "types": set(),
    "root": set(),
    "config": {"root"},
    "tables": {"root"},
    "provenance": {"root", "tables"},
    "wording": {"root", "config", "types"},
    "schemas": {"root", "tables", "types"},
    "meta": {"root"},
    "conversions": {"root"},
    "effects": {"root", "conversions"},
    "scales": {"types"},
    "sources": {"root", "config", "tables", "schemas"},
    "screening": SHARED | {"schemas", "sources"},
    "extraction": SHARED | CORE | {"schemas"},
    "registry_results": {"root", "types", "conversions", "effects"},
    "analysis": SHARED | CORE,
    "synthesis": SHARED | CORE | {"analysis"},
    "living": set(),
    "plots": SHARED | CORE | {"analysis"},
    "report": SHARED | CORE | {"schemas", "screening", "extraction", "registry_results",
                               "analysis", "synthesis", "living", "plots"},
}


def _module_name(path: Path) -> str:
    parts = [NAME, *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str:
    """``ketamine_evidence.synthesis.claims`` -> ``synthesis``; the package itself -> root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "root"


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import of the package in one file."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    if source is None:
        source = path.read_text(encoding="utf-8")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == NAME]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != NAME:
                continue
            if target == NAME:  # from ketamine_evidence import meta, KetamineEvidenceError
                found += [(node.lineno, f"{NAME}.{a.name}" if a.name[0].islower() else NAME)
                          for a in node.names]
            else:
                found.append((node.lineno, target))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_stage_is_listed():
    stages = {stage_of(_module_name(p)) for p in MODULES}
    assert stages - {"cli"} == set(ALLOWED), "a new stage needs its row in ALLOWED"


def test_stages_form_no_cycle():
    seen: dict[str, str] = {}

    def visit(stage: str, path: tuple[str, ...]) -> None:
        if seen.get(stage) == "done":
            return
        assert seen.get(stage) != "open", f"stage cycle: {' -> '.join((*path, stage))}"
        seen[stage] = "open"
        for dep in ALLOWED[stage]:
            visit(dep, (*path, stage))
        seen[stage] = "done"

    for stage in ALLOWED:
        visit(stage, ())


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_stages(path):
    stage = stage_of(_module_name(path))
    if stage == "cli":  # the command line may import every stage
        return
    wrong = [f"line {line}: {target} ({stage_of(target)})"
             for line, target in imported_modules(path)
             if stage_of(target) != stage and stage_of(target) not in ALLOWED[stage]]
    assert not wrong, f"{path.name} (stage {stage}) imports outside its stage rules: {wrong}"


def test_nothing_but_the_cli_imports_the_cli():
    offenders = [f"{p.relative_to(PACKAGE)} line {line}" for p in MODULES
                 if stage_of(_module_name(p)) != "cli"
                 for line, target in imported_modules(p) if stage_of(target) == "cli"]
    assert not offenders


@pytest.mark.parametrize(("where", "source", "target"), [
    ("meta/_fake.py", "from ketamine_evidence.config import X\n", "ketamine_evidence.config"),
    ("analysis/_fake.py", "from ..synthesis import claims\n", "ketamine_evidence.synthesis"),
    ("scales.py", "from ketamine_evidence import wording\n", "ketamine_evidence.wording"),
])
def test_the_checker_sees_a_wrong_import(where, source, target):
    """Imports that break the rules are read correctly and refused (the test can fail)."""
    fake = PACKAGE / where
    assert imported_modules(fake, source) == [(1, target)]
    assert stage_of(target) not in ALLOWED[stage_of(_module_name(fake))]
