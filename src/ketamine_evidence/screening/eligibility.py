"""Eligibility screening: automatic rules from ``config.yaml`` plus reviewer overrides.

Every record gets exactly one row in ``screening.csv``: where it left the flow (``stage``),
the decision, a reason code from CODEBOOK.md and a reason text, and who decided it
(``rules``, ``curator`` for the full-text decisions in ``known_reports.csv``, or
``override:<reviewer> <date>`` for ``screening_overrides.csv``). What the rules said is kept
beside the final decision (``rule_*``) so overridden decisions stay visible.

Rules (terms matched case-insensitively in title, abstract, MeSH, conditions, interventions):

* title/abstract stage, database records only: ``animal`` (animal terms, no "Humans" MeSH),
  ``review`` / ``case_report`` / ``other`` (publication types), ``wrong_population``,
  ``wrong_intervention``;
* full-text stage: ``protocol_no_results`` (trial-protocol publication type), ``wrong_design``
  (no trial publication type or design term; for registrations: not interventional, or
  allocation not in ``registry_allocation``), and for registrations without posted results and
  without a linked publication ``ongoing_no_results`` (status still running),
  ``awaiting_classification`` (finished or status unknown: results may still appear) or
  ``other`` (withdrawn before enrolling anyone); see :func:`registration_without_results`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import pandas as pd

from ketamine_evidence import KetamineEvidenceError, KetamineEvidenceWarning
from ketamine_evidence.config import EligibilitySettings
from ketamine_evidence.schemas.records import REASON_CODES

OVERRIDE_COLUMNS = ["record_key", "stage", "decision", "reason_code", "reason_text",
                    "reviewer", "date"]
SCREENING_COLUMNS = ["record_id", "source", "record_type", "study_id", "stage", "decision",
                     "reason_code", "reason_text", "decided_by", "overridden", "rule_stage",
                     "rule_decision", "rule_reason_code", "override_key"]
ONGOING = {"RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING",
           "ENROLLING_BY_INVITATION"}


def registration_without_results(status: str | None) -> tuple[str, str, str]:
    """``(decision, reason_code, text)`` of an eligible registration with nothing to read yet.

    The registry status says which (Cochrane Handbook 4.6, PRISMA 2020 item 16a): a study still
    recruiting or active is ongoing (``ongoing_no_results``); one that has finished (completed,
    terminated, suspended) or whose status is unknown, but has no posted results or linked
    publication yet, is awaiting classification (``awaiting_classification``): it is not
    ineligible, its results may still appear. A withdrawn study stopped before enrolling its
    first participant (ClinicalTrials.gov definition), so no results will ever come: it is
    excluded (``other``). The first two are counted apart from the exclusions (PRISMA).
    """
    status = (status or "").upper()
    if status in ONGOING:
        return ("exclude", "ongoing_no_results",
                f"status {status}; no posted results or linked publication")
    if status == "WITHDRAWN":
        return "exclude", "other", "status WITHDRAWN: withdrawn before enrolling anyone"
    shown = f"status {status}" if status else "status not recorded"
    return ("exclude", "awaiting_classification",
            f"{shown}; no posted results or linked publication yet")


class ScreeningError(KetamineEvidenceError, ValueError):
    """The overrides file or the inputs are inconsistent; the message says where."""


def _val(value):
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    return value


def _list(value) -> list[str]:
    value = _val(value)
    return [v for v in str(value).split(";") if v] if value else []


def _contains_any(text: str, terms) -> str | None:
    for term in terms:
        if term and term.lower() in text:
            return term
    return None


def _word_any(text: str, terms) -> str | None:
    for term in terms:
        if term and re.search(rf"\b{re.escape(term.lower())}\b", text):
            return term
    return None


class Rules:
    """Rule set built from the ``eligibility`` settings (or a mapping of that section)."""

    def __init__(self, eligibility: EligibilitySettings | Mapping):
        e = EligibilitySettings.coerce(eligibility)
        self.population = [t.lower() for t in e.population_terms]
        self.intervention = [t.lower() for t in e.intervention_terms]
        # what a reason calls the term lists ("no <population_label> term in ...")
        self.population_label = e.population_label
        self.intervention_label = e.intervention_label
        self.design_types = {t.lower() for t in e.design_publication_types}
        self.design_terms = [t.lower() for t in e.design_terms]
        self.exclude_types = {group: {t.lower() for t in types}
                              for group, types in e.exclude_publication_types.items()}
        self.animal = [t.lower() for t in e.animal_terms]
        self.allocation = {a.upper() for a in e.registry_allocation}
        self.protocol_types = {t.lower() for t in e.protocol_publication_types}

    @staticmethod
    def _haystack(rec: dict) -> str:
        parts = [rec.get(c) for c in ("title", "abstract", "mesh_terms", "conditions",
                                      "interventions", "journal")]
        return " ".join(str(p) for p in parts if _val(p)).lower()

    def title_abstract(self, rec: dict) -> tuple[str, str] | None:
        """``(reason_code, text)`` if the record fails title/abstract screening, else None."""
        text = self._haystack(rec)
        ptypes = {p.lower() for p in _list(rec.get("publication_types"))}
        mesh = {m.lower() for m in _list(rec.get("mesh_terms"))}
        animal = _word_any(" ".join(_val(rec.get(c)) or "" for c in ("title", "abstract",
                                                                      "mesh_terms")).lower(),
                           self.animal)
        if animal and "humans" not in mesh:
            return "animal", f"animal study: '{animal}' in title/abstract/MeSH, no Humans MeSH"
        codes = {"review": "review", "case_report": "case_report"}
        for group, types in self.exclude_types.items():
            hit = sorted(ptypes & types)
            if hit:
                return codes.get(group, "other"), f"publication type {hit[0]!r}"
        if rec.get("record_type") == "review":
            return "review", "record type is review"
        if not _contains_any(text, self.population):
            return ("wrong_population", f"no {self.population_label} term in title, abstract, "
                    "MeSH or conditions")
        if not _contains_any(text, self.intervention):
            return ("wrong_intervention", f"no {self.intervention_label} term in title, "
                    "abstract, MeSH or interventions")
        return None

    def full_text(self, rec: dict, has_publication: bool) -> tuple[str, str, str]:
        """``(decision, reason_code, text)`` on the metadata available at full-text stage."""
        if rec.get("record_type") == "registration":
            study_type = _val(rec.get("study_type"))
            allocation = _val(rec.get("allocation"))
            if study_type and study_type.upper() != "INTERVENTIONAL":
                return "exclude", "wrong_design", f"registered as {study_type}"
            if allocation and allocation.upper() not in self.allocation:
                return "exclude", "wrong_design", f"allocation {allocation}"
            if study_type is None and allocation is None and rec.get("source") == "ctgov":
                return "exclude", "wrong_design", "design not recorded in the registration"
            if _val(rec.get("has_results")) is not True and not has_publication:
                return registration_without_results(_val(rec.get("overall_status")))
            return "include", "include", "controlled interventional registration with results " \
                   "or a linked publication"
        ptypes = {p.lower() for p in _list(rec.get("publication_types"))}
        protocol = sorted(ptypes & self.protocol_types)
        if protocol:
            return "exclude", "protocol_no_results", f"publication type {protocol[0]!r}"
        design_type = sorted(ptypes & self.design_types)
        if design_type:
            return "include", "include", f"publication type {design_type[0]!r}"
        term = _contains_any(" ".join(str(_val(rec.get(c)) or "") for c in
                                      ("title", "abstract")).lower(), self.design_terms)
        if term:
            return "include", "include", f"design term {term!r} in title/abstract"
        return "exclude", "wrong_design", "no randomised/controlled design indicated"


def no_overrides() -> pd.DataFrame:
    """An empty ``screening_overrides.csv`` (no reviewer overrode the rules)."""
    return pd.DataFrame(columns=OVERRIDE_COLUMNS, dtype=object)


def check_overrides(frame: pd.DataFrame, name: str = "screening_overrides.csv") -> pd.DataFrame:
    """Check every row of ``screening_overrides.csv`` as read (CODEBOOK.md).

    ``frame`` is the sheet as text (:func:`ketamine_evidence.tables.read_csv_text`, whose
    ``attrs["lines"]`` give each row's line) and ``name`` the file the messages name.
    Raises :class:`ScreeningError` at the first bad row, naming file, row, line and field.
    """
    missing = set(OVERRIDE_COLUMNS) - set(frame.columns)
    if missing:
        raise ScreeningError(f"{name}: missing column(s) {sorted(missing)}")
    for i, row in frame.iterrows():
        where = f"{name} row {i + 1} (line {frame.attrs['lines'][i]}; {row['record_key']})"
        if _val(row["record_key"]) is None:
            raise ScreeningError(f"{where}: record_key is empty")
        if row["stage"] not in ("title_abstract", "full_text"):
            raise ScreeningError(f"{where}: stage {row['stage']!r} is not title_abstract/full_text")
        if row["decision"] not in ("include", "exclude"):
            raise ScreeningError(f"{where}: decision {row['decision']!r} is not include/exclude")
        if row["reason_code"] not in REASON_CODES:
            raise ScreeningError(f"{where}: unknown reason_code {row['reason_code']!r}")
        if (row["decision"] == "include") != (row["reason_code"] == "include"):
            raise ScreeningError(f"{where}: decision {row['decision']!r} does not match "
                                 f"reason_code {row['reason_code']!r}")
    dup = frame[frame.duplicated(["record_key", "stage"], keep=False)]
    if len(dup):
        raise ScreeningError(f"{name}: more than one override for "
                             f"{sorted(set(dup['record_key'] + ' @ ' + dup['stage']))}")
    return frame


def _override_matches(key: str, rec: dict) -> bool:
    key = key.strip()
    if key.upper().startswith("PMID:"):
        return rec["record_type"] != "registration" and _val(rec.get("pmid")) == key[5:].strip()
    if key.upper().startswith("DOI:"):
        doi = _val(rec.get("doi"))
        return rec["record_type"] != "registration" and doi is not None and \
            doi.lower() == key[4:].strip().lower()
    if re.fullmatch(r"NCT\d{8}", key.upper()):
        return rec["record_type"] == "registration" and _val(rec.get("nct_id")) == key.upper()
    return rec["record_id"] == key


def screen(records: pd.DataFrame, studies: pd.DataFrame | None,
           eligibility: EligibilitySettings | Mapping, overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """Screen every record; return the ``screening.csv`` table (one row per record).

    Parameters
    ----------
    records, studies : DataFrame
        From :func:`ketamine_evidence.screening.io.build_records`.
    eligibility : EligibilitySettings or mapping
        The ``eligibility`` section of the settings (a mapping is validated against the
        schema, which fills its defaults).
    overrides : DataFrame, optional
        From :func:`ketamine_evidence.screening.io.read_overrides`; applied on top of the
        rules and shown as overridden.
    """
    from ketamine_evidence.schemas.records import SCREENING_SCHEMA

    rules = Rules(eligibility)
    overrides = overrides if overrides is not None else no_overrides()
    recs = records.to_dict("records")
    publication_studies = {r["study_id"] for r in recs if r["record_type"] != "registration"}
    by_record: dict[str, dict[str, dict]] = {}
    used = set()
    for ov in overrides.to_dict("records"):
        for rec in recs:
            if not bool(rec["is_duplicate"]) and _override_matches(ov["record_key"], rec):
                by_record.setdefault(rec["record_id"], {})[ov["stage"]] = ov
                used.add(ov["record_key"])
    unused = sorted(set(overrides["record_key"]) - used)
    if unused:
        warnings.warn(f"screening overrides match no (non-duplicate) record: {unused}",
                      KetamineEvidenceWarning, stacklevel=2)

    rows = []
    for rec in recs:
        row = {"record_id": rec["record_id"], "source": rec["source"],
               "record_type": rec["record_type"], "study_id": rec["study_id"],
               "overridden": False, "override_key": None}
        if bool(rec["is_duplicate"]):
            row.update(stage="identification", decision="exclude", reason_code="duplicate",
                       reason_text=f"duplicate of {rec['duplicate_of']}", decided_by="dedup",
                       rule_stage="identification", rule_decision="exclude",
                       rule_reason_code="duplicate")
            rows.append(row)
            continue
        # What the rules (or the curator, for known reports) decide without overrides.
        if rec["source"] == "other" and _val(rec.get("curator_decision")):
            code = _val(rec.get("curator_reason_code")) or (
                "include" if rec["curator_decision"] == "include" else "other")
            auto = ("full_text", rec["curator_decision"], code,
                    _val(rec.get("curator_reason_text")) or "curator decision", "curator")
        else:
            ta = rules.title_abstract(rec) if rec["source"] != "other" else None
            if ta:
                auto = ("title_abstract", "exclude", ta[0], ta[1], "rules")
            else:
                decision, code, text = rules.full_text(
                    rec, rec["study_id"] in publication_studies)
                auto = ("full_text", decision, code, text, "rules")
        row.update(rule_stage=auto[0], rule_decision=auto[1], rule_reason_code=auto[2])
        final = auto
        ovs = by_record.get(rec["record_id"], {})
        ta_ov, ft_ov = ovs.get("title_abstract"), ovs.get("full_text")
        if ta_ov is not None and ta_ov["decision"] == "exclude":
            final, chosen = _from_override(ta_ov), ta_ov
        elif ft_ov is not None:
            final, chosen = _from_override(ft_ov), ft_ov
        elif ta_ov is not None:  # included at title/abstract: full text decided as usual
            chosen = ta_ov
            if auto[0] == "title_abstract":
                decision, code, text = rules.full_text(
                    rec, rec["study_id"] in publication_studies)
                final = ("full_text", decision, code, text, "rules")
        else:
            chosen = None
        if chosen is not None:
            row.update(overridden=True, override_key=chosen["record_key"])
        row.update(stage=final[0], decision=final[1], reason_code=final[2],
                   reason_text=final[3], decided_by=final[4])
        rows.append(row)
    frame = pd.DataFrame(rows, columns=SCREENING_COLUMNS)
    return SCREENING_SCHEMA.validate(frame)


def _from_override(ov: dict) -> tuple:
    who = f"override:{_val(ov.get('reviewer')) or 'unknown reviewer'}"
    if _val(ov.get("date")):
        who += f" {ov['date']}"
    return (ov["stage"], ov["decision"], ov["reason_code"],
            _val(ov.get("reason_text")) or "reviewer override", who)


AWAITING_COLUMNS = ["record_id", "study_id", "source", "record_type", "decided_by", "why"]


def awaiting_curation(screening: pd.DataFrame, curated_study_ids) -> pd.DataFrame:
    """Included records that still need a reviewer: the living review's to-do list.

    A record needs attention when it is included at full text but either the automatic
    rules alone included it (no reviewer has confirmed the full-text decision), or its study
    has no row in ``study_characteristics.csv`` (nothing has been extracted from it yet).
    After a live refresh this lists the new trials, so a reviewer (or CI) sees them at once.

    Parameters
    ----------
    screening : pandas.DataFrame
        ``data/processed/screening.csv``.
    curated_study_ids : iterable of str
        ``study_id`` values of ``study_characteristics.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per record with ``why`` it needs attention (reasons joined by "; ").
    """
    if screening is None or screening.empty:
        return pd.DataFrame(columns=AWAITING_COLUMNS)
    curated = {str(s) for s in curated_study_ids}
    included = screening[(screening["stage"] == "full_text")
                         & (screening["decision"] == "include")]
    rows = []
    for _, rec in included.iterrows():
        why = []
        if str(rec["decided_by"]) == "rules":
            why.append("included by the automatic rules only: needs a reviewer's full-text "
                       "decision (screening_overrides.csv)")
        if str(rec["study_id"]) not in curated:
            why.append("its study has no row in study_characteristics.csv: not extracted yet")
        if why:
            rows.append({**{c: rec.get(c) for c in AWAITING_COLUMNS[:-1]}, "why": "; ".join(why)})
    return pd.DataFrame(rows, columns=AWAITING_COLUMNS)
