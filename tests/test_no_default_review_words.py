"""No word of the default review's question (ketamine for PTSD) in the code, templates, schemas
or rules: they live in ``config.yaml`` and the curated sheets, so another configuration reviews
another question (issue 8). The package's own names (``ketamine_evidence``, the
``ketamine-evidence`` command, ``KetamineEvidenceError`` ...) are names, not the question.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORDS = re.compile(r"esketamine|ketamine|midazolam|ptsd|post-?traumatic", re.IGNORECASE)
PACKAGE_NAMES = re.compile(r"ketamine[-_]?evidence", re.IGNORECASE)
SUFFIXES = {".py", ".j2", ".css", ".yaml", ".yml", ".json", ".smk", ".rst", ".sh", ".R", ""}

#: (file, word as written) -> why it may stay. Keep this short: every entry is a reason.
ALLOWED = {
    # the package docstring says what the default configuration reviews
    ("src/ketamine_evidence/__init__.py", "ketamine"): "names the default config.yaml",
    ("src/ketamine_evidence/__init__.py", "PTSD"): "names the default config.yaml",
}


def _files():
    for top in ("src", "workflow"):
        for path in sorted((ROOT / top).rglob("*")):
            if (path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts
                    and not any(p.endswith(".egg-info") for p in path.parts)):
                yield path
    yield ROOT / "Snakefile"


def _words(line: str) -> list[str]:
    """The tokens of ``line`` that hold a word of the default review (package names aside)."""
    tokens = re.findall(r"[A-Za-z0-9_-]+", PACKAGE_NAMES.sub(" ", line))
    return [t for t in tokens if WORDS.search(t)]


def _hits() -> list[tuple[str, int, str]]:
    return [(path.relative_to(ROOT).as_posix(), number, token)
            for path in _files()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            for token in _words(line)]


def test_no_default_review_words_in_code_templates_schemas_or_rules():
    stray = [f"{rel}:{number}: {token}" for rel, number, token in _hits()
             if (rel, token) not in ALLOWED]
    assert not stray, ("words of the default review's question belong in config.yaml or the "
                       "curated sheets (see ketamine_evidence.wording):\n" + "\n".join(stray))


def test_the_allow_list_has_no_stale_entries():
    used = {(rel, token) for rel, _, token in _hits()}
    assert set(ALLOWED) <= used, sorted(set(ALLOWED) - used)


def test_the_check_finds_planted_words_and_skips_package_names():
    line = 'f"favours Esketamine vs midazolam in PTSD"  # from ketamine_evidence import x'
    assert _words(line) == ["Esketamine", "midazolam", "PTSD"]
    assert _words("ketamine-evidence report; KetamineEvidenceError; KETAMINE_EVIDENCE_X") == []
