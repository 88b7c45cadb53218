"""What changed between two versions of the review (pure: no file or network access).

A *version* is what one run of the review stands on and produced: the database records of its
snapshot (PubMed articles, ClinicalTrials.gov registrations with their status and whether
results are posted), its PRISMA 2020 counts (``prisma.json``) and its claims table
(``claims.csv``). :func:`compare` lists every difference a maintainer has to look at before
merging a refreshed snapshot:

- records: PMIDs and NCT IDs added or removed;
- registry: overall status changes (e.g. ``RECRUITING`` -> ``COMPLETED``) and results newly
  posted (``hasResults`` false or absent before, true now; a new registration that already has
  results counts too);
- PRISMA: every count that differs (flattened keys such as
  ``databases_and_registers.included``), and the included studies added or removed;
- claims: per claim, the fields in :data:`CLAIM_FIELDS` that differ, and claims added or removed.

Numbers are compared after parsing; two floats count as equal within a relative 1e-9 (the
tables are written with the shortest round-tripping repr, so a rerun on the same inputs gives
identical strings; the tolerance only absorbs platform noise in the last digit).
:func:`to_markdown` renders the result for a pull-request body.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: Claim columns whose change is reported, in this order (those present in both tables).
CLAIM_FIELDS = ("verdict", "certainty", "k", "reported_k", "n_participants", "estimate",
                "ci_low", "ci_high", "pi_low", "pi_high")
#: How a person reads each of :data:`CLAIM_FIELDS` (the report's section).
CLAIM_FIELD_LABELS = {
    "verdict": "verdict", "certainty": "certainty (GRADE)", "k": "studies pooled (k)",
    "reported_k": "studies reporting the outcome", "n_participants": "participants",
    "estimate": "estimate", "ci_low": "95% CI, lower", "ci_high": "95% CI, upper",
    "pi_low": "95% PI, lower", "pi_high": "95% PI, upper",
}
_REL_TOL = 1e-9


@dataclass(frozen=True)
class Version:
    """One version of the review, as read by the CLI.

    Attributes
    ----------
    label : str
        How the version is named in the output (snapshot folder, date).
    records : list of dict
        Database records of the snapshot: ``pmid`` or ``nct_id``, ``title``, and for
        registrations ``overall_status`` and ``has_results``.
    prisma : dict or None
        The PRISMA counts (``prisma.json``); ``None`` when not available.
    claims : list of dict or None
        Rows of ``claims.csv`` (``claim_id`` plus :data:`CLAIM_FIELDS`); ``None`` = not available.
    info : dict
        Free description copied to the output (snapshot, evidence date, commit, ...).
    """

    label: str
    records: list[dict] = field(default_factory=list)
    prisma: dict | None = None
    claims: list[dict] | None = None
    info: dict = field(default_factory=dict)


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() in ("", "nan", "NaN", "NA")


def _as_number(value):
    """``value`` as a float when it reads as a number, else ``None``."""
    if isinstance(value, bool) or _blank(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def same_value(old, new) -> bool:
    """Equal as numbers (relative 1e-9), as text, or both empty."""
    if _blank(old) and _blank(new):
        return True
    if _blank(old) != _blank(new):
        return False
    a, b = _as_number(old), _as_number(new)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=_REL_TOL, abs_tol=0.0) or a == b
    return str(old).strip() == str(new).strip()


def _plain(value):
    """A JSON-ready value: numbers as int/float, empty as ``None``, the rest as text."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    number = _as_number(value)
    if number is not None:
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    return str(value)


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def _by_key(records: Iterable[Mapping], key: str) -> dict[str, Mapping]:
    out = {}
    for rec in records:
        value = rec.get(key)
        if not _blank(value):
            out[str(value)] = rec
    return out


def compare_records(old: Iterable[Mapping], new: Iterable[Mapping]) -> dict:
    """PMIDs and NCT IDs added or removed; registry status changes; results newly posted."""
    old, new = list(old), list(new)
    out: dict = {}
    for key, name in (("pmid", "pmids"), ("nct_id", "nct_ids")):
        before, after = _by_key(old, key), _by_key(new, key)
        out[f"{name}_added"] = [{"id": i, "title": _plain(after[i].get("title"))}
                                for i in sorted(set(after) - set(before))]
        out[f"{name}_removed"] = [{"id": i, "title": _plain(before[i].get("title"))}
                                  for i in sorted(set(before) - set(after))]
    before, after = _by_key(old, "nct_id"), _by_key(new, "nct_id")
    out["status_changes"] = [
        {"nct_id": i, "old": _plain(before[i].get("overall_status")),
         "new": _plain(after[i].get("overall_status"))}
        for i in sorted(set(before) & set(after))
        if not same_value(before[i].get("overall_status"), after[i].get("overall_status"))]
    out["results_posted"] = [
        {"nct_id": i, "title": _plain(after[i].get("title")), "new_registration": i not in before}
        for i in sorted(after)
        if _truthy(after[i].get("has_results"))
        and not (i in before and _truthy(before[i].get("has_results")))]
    return out


def _flatten(obj, prefix: str = "") -> dict[str, object]:
    """Numeric leaves of nested dicts, keyed ``a.b.c`` (lists and text are skipped)."""
    out = {}
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        out[prefix[:-1]] = obj
    return out


def compare_prisma(old: Mapping | None, new: Mapping | None) -> dict:
    """Every PRISMA count that differs and the included studies added or removed."""
    if old is None or new is None:
        return {"compared": False, "counts": [], "included_studies_added": [],
                "included_studies_removed": []}
    skip = ("check.",)
    a, b = _flatten(old), _flatten(new)
    counts = [{"count": key, "old": a.get(key), "new": b.get(key)}
              for key in sorted(set(a) | set(b))
              if not key.startswith(skip) and not same_value(a.get(key), b.get(key))]
    ids_old = set((old.get("included") or {}).get("study_ids") or [])
    ids_new = set((new.get("included") or {}).get("study_ids") or [])
    return {"compared": True, "counts": counts,
            "included_studies_added": sorted(ids_new - ids_old),
            "included_studies_removed": sorted(ids_old - ids_new)}


def compare_claims(old: Iterable[Mapping] | None, new: Iterable[Mapping] | None) -> dict:
    """Per claim, the :data:`CLAIM_FIELDS` that differ; claims added or removed."""
    if old is None or new is None:
        return {"compared": False, "changed": [], "added": [], "removed": []}
    before, after = _by_key(old, "claim_id"), _by_key(new, "claim_id")
    changed = []
    for claim_id in sorted(set(before) & set(after)):
        a, b = before[claim_id], after[claim_id]
        fields = [{"field": f, "old": _plain(a.get(f)), "new": _plain(b.get(f))}
                  for f in CLAIM_FIELDS
                  if (f in a or f in b) and not same_value(a.get(f), b.get(f))]
        if fields:
            changed.append({"claim_id": claim_id, "changes": fields})
    return {"compared": True, "changed": changed,
            "added": sorted(set(after) - set(before)),
            "removed": sorted(set(before) - set(after))}


def compare(old: Version | None, new: Version) -> dict:
    """Everything that changed from ``old`` to ``new`` as a JSON-ready dict.

    ``old=None`` means there is no previous version: the result says so (``previous`` is
    ``None``, ``changed`` is ``None``) instead of listing every record as new.
    """
    if old is None:
        return {"previous": None, "current": {"label": new.label, **new.info},
                "changed": None}
    records = compare_records(old.records, new.records)
    prisma = compare_prisma(old.prisma, new.prisma)
    claims = compare_claims(old.claims, new.claims)
    changed = (any(records.values()) or bool(prisma["counts"])
               or bool(prisma["included_studies_added"] or prisma["included_studies_removed"])
               or any(claims[k] for k in ("changed", "added", "removed")))
    return {"previous": {"label": old.label, **old.info},
            "current": {"label": new.label, **new.info},
            "changed": bool(changed), "records": records, "prisma": prisma, "claims": claims}


# ----------------------------------------------------------------------------- Markdown
def format_value(value) -> str:
    """A compared value as text: ``–`` for none, floats to 4 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _fmt(value) -> str:
    return format_value(value).replace("|", "\\|")


def _id_lines(items: list[dict], link) -> list[str]:
    return [f"- [{item['id']}]({link(item['id'])})"
            + (f": {_fmt(item['title'])}" if item.get("title") else "") for item in items]


def pubmed_url(pmid: str) -> str:
    """The PubMed page of a PMID."""
    return f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"


def ctgov_url(nct: str) -> str:
    """The ClinicalTrials.gov page of an NCT ID."""
    return f"https://clinicaltrials.gov/study/{nct}"


def to_markdown(changes: Mapping, title: str = "What changed since the previous version") -> str:
    """The comparison as GitHub-flavoured Markdown (a pull-request body or a report section)."""
    lines = [f"## {title}", ""]
    current = changes.get("current") or {}
    previous = changes.get("previous")
    if previous is None:
        lines += ["There is no previous version to compare with: this is the first version "
                  "built here, or no previous result set was given. To compare, name an "
                  "earlier build's folder: `review.previous_version` in the config (the "
                  "workflow) or `ketamine-evidence diff --old DIR`.", ""]
        return "\n".join(lines)
    lines += ["| | previous | current |", "|---|---|---|"]
    for key in sorted({*previous, *current} - {"label"}, key=lambda k: (k != "evidence_date", k)):
        lines.append(f"| {key.replace('_', ' ')} | {_fmt(previous.get(key))} | "
                     f"{_fmt(current.get(key))} |")
    if "snapshot" not in previous and "snapshot" not in current:
        lines.append(f"| version | {_fmt(previous.get('label'))} | "
                     f"{_fmt(current.get('label'))} |")
    lines.append("")
    if not changes["changed"]:
        lines += ["**Nothing changed**: the same records, registry entries, PRISMA counts and "
                  "claim results.", ""]
        return "\n".join(lines)
    rec = changes["records"]
    sections = [
        ("New PubMed records", _id_lines(rec["pmids_added"], pubmed_url)),
        ("PubMed records no longer retrieved", _id_lines(rec["pmids_removed"], pubmed_url)),
        ("New registrations", _id_lines(rec["nct_ids_added"], ctgov_url)),
        ("Registrations no longer retrieved", _id_lines(rec["nct_ids_removed"], ctgov_url)),
        ("Registry status changes",
         [f"- [{c['nct_id']}]({ctgov_url(c['nct_id'])}): {_fmt(c['old'])} → {_fmt(c['new'])}"
          for c in rec["status_changes"]]),
        ("Results newly posted on ClinicalTrials.gov",
         [f"- [{c['nct_id']}]({ctgov_url(c['nct_id'])})"
          + (f": {_fmt(c['title'])}" if c.get("title") else "")
          + (" (new registration)" if c["new_registration"] else "")
          for c in rec["results_posted"]]),
    ]
    for heading, body in sections:
        if body:
            lines += [f"### {heading}", "", *body, ""]
    prisma = changes["prisma"]
    if prisma["counts"] or prisma["included_studies_added"] or prisma["included_studies_removed"]:
        lines += ["### PRISMA counts", ""]
        if prisma["counts"]:
            lines += ["| count | previous | current |", "|---|---:|---:|"]
            lines += [f"| {c['count']} | {_fmt(c['old'])} | {_fmt(c['new'])} |"
                      for c in prisma["counts"]]
            lines.append("")
        if prisma["included_studies_added"]:
            lines += [f"Included studies added: {', '.join(prisma['included_studies_added'])}",
                      ""]
        if prisma["included_studies_removed"]:
            lines += ["Included studies removed: "
                      f"{', '.join(prisma['included_studies_removed'])}", ""]
    claims = changes["claims"]
    if claims["changed"] or claims["added"] or claims["removed"]:
        lines += ["### Claims", ""]
        if claims["changed"]:
            lines += ["| claim | field | previous | current |", "|---|---|---|---|"]
            for claim in claims["changed"]:
                for c in claim["changes"]:
                    lines.append(f"| {claim['claim_id']} | {c['field']} | {_fmt(c['old'])} | "
                                 f"{_fmt(c['new'])} |")
            lines.append("")
        if claims["added"]:
            lines += [f"Claims added: {', '.join(claims['added'])}", ""]
        if claims["removed"]:
            lines += [f"Claims removed: {', '.join(claims['removed'])}", ""]
    for name, part in (("PRISMA counts", prisma), ("claims", claims)):
        if not part["compared"]:
            lines += [f"The {name} were not compared: one of the two versions has none.", ""]
    return "\n".join(lines)
