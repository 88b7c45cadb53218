"""The package's stages import only what their docstrings allow, and pure modules do no IO.

Each subpackage (and each top-level module) belongs to one stage of the pipeline; the
package docstring lists them in workflow order and each subpackage's docstring says what it
may import. This test reads every module's imports (with ``ast``, without importing
anything) and fails on an import that crosses the stages the wrong way, e.g. the pure
statistics core reaching for the config, or the analysis stage importing the claims. A
second check reads the modules that call themselves pure and fails on a call that touches
files, programs or the network.
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

#: Modules that call themselves pure: they get what they work on as arguments and return
#: results; the stage's ``io`` module, the CLI or ``tables`` touch the files.
PURE = [
    "types.py", "scales.py", "effects.py", "conversions.py", "wording.py", "meta",
    "screening/records.py", "screening/eligibility.py", "screening/prisma.py",
    "extraction/validation.py", "extraction/derive.py",
    "registry_results/parsing.py", "registry_results/arms.py", "registry_results/pairing.py",
    "registry_results/compare.py",
    "analysis/pooling.py", "analysis/posterior.py", "analysis/reproduce.py",
    "synthesis", "living", "report/living.py", "report/model.py", "report/format.py",
    "report/claims.py", "report/studies.py", "report/methods.py",
]
#: calls that read or write files, run programs or reach the network
IO_CALLS = {"open", "read_text", "write_text", "read_bytes", "write_bytes", "mkdir", "unlink",
            "rmdir", "touch", "read_csv", "to_csv", "read_json", "to_json", "load",
            "dump", "savefig", "save", "loadtxt", "savetxt", "urlopen", "get", "post", "run",
            "Popen", "check_output", "iterdir", "glob", "rglob", "is_file", "exists"}
#: the package's own file and network helpers
IO_IMPORTS = {"read_table", "write_table", "write_text", "read_csv_text", "read_json",
              "load_snapshot", "atomic_write", "read_settings", "load_settings"}
IO_MODULES = {"requests", "urllib", "subprocess", "shutil", "socket", "Bio"}


def _pure_files() -> list[Path]:
    files = []
    for entry in PURE:
        path = PACKAGE / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def io_uses(source: str) -> list[str]:
    """What in ``source`` reads or writes files, runs programs or reaches the network."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            # dict.get and friends share names with IO calls: only flag .get/.load/.run/...
            # on objects named like IO (requests, json, pickle, np, subprocess, os, path)
            if name in {"get", "post", "load", "dump", "save", "run"}:
                owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(
                    func.value, ast.Name) else ""
                if owner not in {"requests", "json", "pickle", "np", "numpy", "subprocess",
                                 "yaml", "session"}:
                    continue
            if name in IO_CALLS:
                found.append(f"line {node.lineno}: {name}()")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] in IO_MODULES:
                found.append(f"line {node.lineno}: from {module} import")
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names
                      if a.name in IO_IMPORTS]
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] in IO_MODULES]
    return found


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_modules_do_no_io(path):
    uses = io_uses(path.read_text(encoding="utf-8"))
    assert not uses, f"{path.relative_to(PACKAGE)} is listed as pure but does IO: {uses}"


@pytest.mark.parametrize("source", [
    "from pathlib import Path\nPath('x').read_text()\n",
    "import json\njson.load(handle)\n",
    "from ketamine_evidence.tables import read_table\n",
    "import subprocess\n",
    "with open('f') as handle:\n    pass\n",
])
def test_the_io_check_sees_io(source):
    assert io_uses(source)


def test_the_io_check_leaves_dict_get_alone():
    assert not io_uses("row = {}\nrow.get('a', 1)\njson.loads('1')\n")
