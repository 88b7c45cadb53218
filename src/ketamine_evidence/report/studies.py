"""The report's evidence sections: search, PRISMA, studies, risk of bias, registry, analyses (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import pandas as pd

from ketamine_evidence.effects import RATIO_MEASURES
from ketamine_evidence.plots.rob import symbol_legend
from ketamine_evidence.schemas.records import NOT_YET_CLASSIFIED
from ketamine_evidence.screening.eligibility import awaiting_curation
from ketamine_evidence.wording import (
    CERTAINTY_LABELS,
    CERTAINTY_SYMBOLS,
    MEASURE_LABELS,
    ROB_DOMAINS,
    ROB_LABELS,
    SENSITIVITY_KINDS,
)

from .claims import NOT_FOR_ONE, _certainty_domains, pooled_cells
from .format import (
    _filter,
    _flatten,
    _generic_table,
    _has_rows,
    _humanise,
    _num,
    _rows,
    _split_ids,
    _state,
    _text,
    ctgov_link,
    figure_uri,
    fmt_effect,
    fmt_effect_interval,
    fmt_int,
    fmt_interval,
    fmt_number,
    fmt_p,
    fmt_percent,
    pubmed_link,
    source_links,
)
from .model import (
    DASH,
    EGGER_MIN_K,
    INPUT_DESCRIPTIONS,
    REGISTRY_FACT_LABELS,
    ROB_SYMBOLS,
    Link,
    ReportInputs,
)


def _search_status(obj: Mapping[str, Any] | None) -> dict[str, str] | None:
    """``database_search`` block of the manifest or PRISMA counts (status, date, note)."""
    search = (obj or {}).get("database_search")
    if not isinstance(search, Mapping):
        return None
    return {"status": _text(search.get("status")) or "unknown",
            "as_of": _text(search.get("as_of")), "note": _text(search.get("note"))}


PRISMA_BOXES = (
    ("identified", "Records identified"),
    ("duplicates_removed", "Duplicate records removed"),
    ("records_screened", "Records screened (title and abstract)"),
    ("records_excluded", "Records excluded"),
    ("records_excluded_by_automation", "\u2026 of which by automatic rules"),
    ("records_excluded_reasons", "\u2026 reasons"),
    ("reports_sought", "Reports sought for retrieval"),
    ("reports_not_retrieved", "Reports not retrieved"),
    ("reports_assessed", "Reports assessed for eligibility (full text)"),
    ("reports_excluded", "Reports excluded"),
    ("reports_excluded_reasons", "\u2026 reasons"),
    ("reports_ongoing", "Reports of studies ongoing (not excluded)"),
    ("reports_awaiting_classification", "Reports of studies awaiting classification (not excluded)"),
    ("reports_included", "Reports included"),
)


def _prisma_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{_humanise(k).lower()} {_text(v)}" for k, v in value.items()) or "none"
    return _text(value) if value is not None else DASH


def _prisma_columns(prisma: Mapping[str, Any]) -> list[tuple[str, str, str]] | None:
    """PRISMA 2020 boxes side by side: databases and registers | other methods."""
    db, other = prisma.get("databases_and_registers"), prisma.get("other_methods")
    if not isinstance(db, Mapping) or not isinstance(other, Mapping):
        return None
    rows = [(label, _prisma_value(db.get(key)), _prisma_value(other.get(key)))
            for key, label in PRISMA_BOXES if key in db or key in other]
    known = {key for key, _ in PRISMA_BOXES}
    rows += [(_humanise(key), _prisma_value(db.get(key)), _prisma_value(other.get(key)))
             for key in dict.fromkeys([*db, *other]) if key not in known]
    return rows


def _prisma_section(inputs: ReportInputs) -> dict[str, Any]:
    prisma = inputs.prisma or {}
    columns = _prisma_columns(prisma)
    shown = {"databases_and_registers", "other_methods", "database_search"} if columns else {
        "database_search"}
    rest = {k: v for k, v in prisma.items() if k not in shown}
    reasons = None
    screening = inputs.screening
    if _has_rows(screening) and "decision" in screening.columns:
        excluded = screening[screening["decision"].astype(str).str.lower() == "exclude"]
        if not excluded.empty and "reason_code" in excluded.columns:
            counts = (excluded.assign(reason_code=excluded["reason_code"].fillna("unspecified"))
                      .groupby("reason_code", sort=True).size()
                      .sort_values(ascending=False, kind="stable"))
            reasons = [(_humanise(code), int(n)) for code, n in counts.items()]
    decisions = None
    if _has_rows(screening) and "decision" in screening.columns:
        # ongoing studies and studies awaiting classification are not excluded (PRISMA 2020)
        outcome = screening["decision"].fillna("undecided").astype(str)
        if "reason_code" in screening.columns:
            for code, label in NOT_YET_CLASSIFIED.items():
                outcome = outcome.mask(screening["reason_code"] == code, label)
        decisions = [(_humanise(d), int(n)) for d, n in outcome.value_counts().items()]
    if reasons:
        apart = {_humanise(code) for code in NOT_YET_CLASSIFIED}
        reasons = [(r, n) for r, n in reasons if r not in apart]
    return {
        "figure": figure_uri(inputs.figures, "prisma"),
        "columns": columns,
        "counts": _flatten(rest) if rest and not columns else [],
        "included_studies": _text(prisma.get("included", {}).get("studies"))
        if isinstance(prisma.get("included"), Mapping) else "",
        "full_text": full_text_status(inputs.characteristics),
        "excluded": _excluded_reports(inputs),
        "not_yet_classified": len(_not_yet_classified(screening)),
        "search": _search_status(prisma),
        "state": _state(inputs.prisma),
        "reasons": reasons,
        "decisions": decisions,
    }


_BRACKET_PREFIX = re.compile(r"^\[[^\]]*\]\s*")


def full_text_status(characteristics: pd.DataFrame | None) -> dict[str, Any] | None:
    """How the included studies were read: ``abstract_only`` counts the studies whose curated
    ``location`` names an abstract or registry record and no full text, i.e. whose full
    reports were not retrieved (PRISMA 2020 "reports not retrieved" would otherwise read 0)."""
    if not _has_rows(characteristics) or "location" not in characteristics.columns:
        return None
    rows = _rows(characteristics)
    if "question" in characteristics.columns:
        rows = [r for r in rows if _text(r.get("question")) in ("", "treatment")] or rows
    locations = [_text(r.get("location")).lower() for r in rows]
    abstract_only = [
        _text(r.get("label")) or _text(r.get("study_id"))
        for r, loc in zip(rows, locations, strict=True)
        if ("abstract" in loc or "registry" in loc) and "full text" not in loc
    ]
    return {"studies": len(rows), "abstract_only": len(abstract_only),
            "labels": "; ".join(abstract_only)}


def _excluded_reports(inputs: ReportInputs) -> list[dict[str, Any]]:
    """Excluded records with their reason (ongoing studies and studies awaiting
    classification are not excluded: they are listed apart)."""
    screening = inputs.screening
    if not _has_rows(screening) or not {"decision", "record_id"} <= set(screening.columns):
        return []
    records = {}
    for r in _rows(inputs.records):
        who = " ".join(x for x in (_text(r.get("first_author")), _text(r.get("year"))) if x)
        ids = [f"PMID:{_text(r.get('pmid'))}" if _text(r.get("pmid")) else "",
               _text(r.get("nct_id"))]
        records[_text(r.get("record_id"))] = {
            "title": " \u2014 ".join(x for x in (who, _text(r.get("title"))) if x),
            "links": source_links(" ".join(i for i in ids if i)) if any(ids) else ""}
    excluded = screening[screening["decision"].astype(str).str.lower() == "exclude"]
    if "reason_code" in excluded.columns:
        excluded = excluded[~excluded["reason_code"].isin(list(NOT_YET_CLASSIFIED))]
    out = []
    for row in _rows(excluded):
        detail = _BRACKET_PREFIX.sub("", _text(row.get("reason_text")))
        record = records.get(_text(row.get("record_id"))) or {"title": "", "links": ""}
        out.append({
            "record": _text(row.get("record_id")),
            "title": record["title"],
            "links": record["links"],
            "reason": _humanise(_text(row.get("reason_code")) or "unspecified"),
            "detail": detail,
            "by": "reviewer" if str(row.get("overridden")).lower() == "true"
            or _text(row.get("decided_by")).startswith("override") else "automatic rule",
        })
    return sorted(out, key=lambda r: (r["reason"], r["record"]))


def _study_links(row: Mapping[str, Any]) -> list[Link]:
    links = [pubmed_link(p) for p in _split_ids(row.get("pmids") or row.get("pmid"))]
    links += [ctgov_link(n) for n in _split_ids(row.get("nct_ids") or row.get("nct_id"))]
    return [link for link in links if link is not None]


def _alternatives(value: Any) -> str:
    """``0.2;0.5`` -> ``0.2 or 0.5``; repeated parts (``IV;IV``) once."""
    parts = list(dict.fromkeys(p.strip() for p in _text(value).split(";") if p.strip()))
    return " or ".join(parts)


def _count(value: Any) -> str:
    """A sample size as printed (``53;51`` for two arms), or a dash."""
    return _text(value).replace(";", " + ") or DASH


def _characteristics_section(inputs: ReportInputs) -> dict[str, Any]:
    """An overview row and a card of full details for each study, grouped by question."""
    wording = inputs.wording
    settings = inputs.settings
    # the dose unit and this review's names of the arm-count columns (vocabulary); without
    # the vocabulary: no unit, the codebook names
    vocabulary = (settings.vocabulary
                  if settings is not None and settings.has("vocabulary") else None)
    dose_unit = vocabulary.dose_unit if vocabulary else ""
    n_randomised, n_analysed = (vocabulary.sheet_column(c) if vocabulary else c
                                for c in ("n_randomised_intervention", "n_analysed_intervention"))
    table = inputs.characteristics
    if not _has_rows(table):
        table = inputs.studies
    groups: dict[str, list[dict[str, Any]]] = {"treatment": [], "prevention": [], "other": []}
    for row in _rows(table):
        n_k, n_c = _count(row.get(n_randomised)), _count(row.get("n_randomised_control"))
        total = _count(row.get("n_randomised_total"))
        if (n_k, n_c) != (DASH, DASH):
            n = f"{n_k} / {n_c}" + (f" (total {total})" if total != DASH else "")
        else:
            n = f"total {total}" if total != DASH else "not reported"
        design = _text(row.get("design"))
        if design == "crossover" and _text(row.get("washout_days")):
            design += f", washout {_text(row.get('washout_days'))} days"
        dose = _alternatives(row.get("dose_mg_per_kg"))
        drug = " ".join(x for x in (
            _alternatives(row.get("drug")),
            f"{dose} {dose_unit}".rstrip() if dose else "",
            _alternatives(row.get("route")),
        ) if x)
        doses = _alternatives(row.get("n_infusions"))
        if doses:
            drug += f", {doses} dose{'s' if doses != '1' else ''}"
        detail_fields = (
            ("Blinding", "blinding"), ("Population", "population"), ("Setting", "setting"),
            ("Country", "country"), ("Treatment resistance", "treatment_resistance_definition"),
            ("Intervention", "intervention"), ("Schedule", "schedule"), ("Control", "control"),
            ("Co-intervention", "cointervention"),
            (f"Analysed ({wording.arms_pair})", None), ("Primary outcome", "primary_outcome"),
        )
        details = []
        for name, column in detail_fields:
            if column is None:
                a_k = _count(row.get(n_analysed))
                a_c = _count(row.get("n_analysed_control"))
                value = f"{a_k} / {a_c}" if (a_k, a_c) != (DASH, DASH) else ""
            else:
                value = _text(row.get(column))
            if value:
                details.append((name, value))
        question = _text(row.get("question")).lower()
        groups[question if question in groups else "other"].append({
            "label": _text(row.get("label")) or _text(row.get("study_id")),
            "study_id": _text(row.get("study_id")),
            "links": _study_links(row),
            "design": design or DASH,
            "randomised": _text(row.get("randomised")) or DASH,
            "resistant": _text(row.get("treatment_resistant")) or DASH,
            "drug": drug or DASH,
            "control": _text(row.get("control")).split(" (")[0] or DASH,
            "n": n,
            "population": _text(row.get("population")),
            "details": details,
            "source": source_links(row.get("source_id")),
            "location": _text(row.get("location")),
        })
    return {"groups": groups, "state": _state(table)}


def _rob_section(inputs: ReportInputs) -> dict[str, Any]:
    rob = inputs.risk_of_bias
    matrix, details = [], []
    domains: list[str] = []
    if _has_rows(rob) and {"study_id", "domain", "judgement"} <= set(rob.columns):
        labels = {}
        for row in _rows(inputs.characteristics):
            labels[_text(row.get("study_id"))] = _text(row.get("label"))
        present = [str(d) for d in rob["domain"].dropna().unique()]
        domains = [d for d in ROB_DOMAINS if d in present] + sorted(
            d for d in present if d not in ROB_DOMAINS)
        group_cols = ["study_id", "outcome"] if "outcome" in rob.columns else ["study_id"]
        for keys, part in rob.groupby(group_cols, sort=True, dropna=False):
            keys = keys if isinstance(keys, tuple) else (keys,)
            study_id = _text(keys[0])
            outcome = _text(keys[1]) if len(keys) > 1 else ""
            by_domain = {str(r["domain"]): r for r in _rows(part)}
            cells = []
            for d in domains:
                j = _text(by_domain.get(d, {}).get("judgement"))
                cells.append({"judgement": j or "none",
                              "label": ROB_LABELS.get(j, j or "not assessed"),
                              "symbol": ROB_SYMBOLS.get(j or "no_information", "")})
            matrix.append({"study": labels.get(study_id) or study_id, "outcome": outcome,
                           "cells": cells})
            for d in domains:
                if d not in by_domain:
                    continue
                r = by_domain[d]
                j = _text(r.get("judgement"))
                details.append({
                    "study": labels.get(study_id) or study_id, "outcome": outcome,
                    "domain": ROB_DOMAINS.get(d, d), "judgement": j or "none",
                    "label": ROB_LABELS.get(j, j or "not assessed"),
                    "symbol": ROB_SYMBOLS.get(j, ""),
                    "justification": _text(r.get("justification")),
                    "source": source_links(r.get("source_id")),
                    "location": _text(r.get("location")),
                    "assessor": " ".join(x for x in (_text(r.get("assessor")),
                                                     _text(r.get("date"))) if x),
                })
    return {
        "figure": figure_uri(inputs.figures, "rob_summary"),
        "domains": [ROB_DOMAINS.get(d, d) for d in domains],
        "domain_codes": domains,
        "legend": symbol_legend(),
        "matrix": matrix,
        "details": details,
        "state": _state(rob),
    }


def _registry_section(inputs: ReportInputs) -> dict[str, Any]:
    """Registry versus publication: the curated facts (``registry_facts.csv``: changed primary
    outcome, different primary time point, different enrolment ...) beside the automatic
    comparison of ClinicalTrials.gov posted results with the publication."""
    labels = {_text(r.get("study_id")): _text(r.get("label"))
              for r in _rows(inputs.characteristics)}
    facts = []
    for r in _rows(inputs.registry_facts):
        study_id = _text(r.get("study_id"))
        kind = _text(r.get("fact_type"))
        facts.append({
            "study": labels.get(study_id) or study_id,
            "registration": source_links(r.get("nct_id")),
            "kind": REGISTRY_FACT_LABELS.get(kind, kind),
            "registry": _text(r.get("registry_value")),
            "publication": _text(r.get("publication_value")),
            "source": source_links(r.get("source_id")),
            "location": _text(r.get("location")),
            "notes": _text(r.get("notes")),
        })
    return {
        "facts": facts,
        "facts_state": _state(inputs.registry_facts),
        "automatic": _generic_table(inputs.registry_vs_publication),
        "automatic_state": _state(inputs.registry_vs_publication),
    }


def _weights_as_percent(weights: pd.Series) -> pd.Series:
    w = pd.to_numeric(weights, errors="coerce")
    total = w.sum(skipna=True)
    return w * 100 if 0.99 <= total <= 1.01 else w


def _configured_analyses(inputs: ReportInputs) -> tuple:
    """The pre-specified analyses of the settings (none without settings)."""
    return inputs.analysis.analyses if inputs.analysis else ()


def _analysis_sections(inputs: ReportInputs) -> list[dict[str, Any]]:
    titles = {a.id: a.title for a in _configured_analyses(inputs)}
    out = []
    for row in _rows(inputs.pooled):
        aid = _text(row.get("analysis_id"))
        measure = _text(row.get("measure")).upper()
        k = _num(row.get("k"))
        effects = _filter(inputs.study_effects, "analysis_id", aid)
        study_rows = []
        if _has_rows(effects):
            weights = (_weights_as_percent(effects["weight"]) if "weight" in effects.columns
                       else pd.Series([None] * len(effects), index=effects.index))
            for (_, e), w in zip(effects.iterrows(), weights, strict=True):
                study_rows.append({
                    "label": _text(e.get("label")) or _text(e.get("study_id")),
                    "comparison": _text(e.get("comparison")),
                    "instrument": _text(e.get("instrument")),
                    "timepoint": _text(e.get("timepoint")),
                    "effect": fmt_effect(e.get("yi"), measure) + _effect_kind(e, measure),
                    "ci": fmt_effect_interval(e.get("ci_low"), e.get("ci_high"), measure),
                    "weight": fmt_percent(w),
                    "source": source_links(e.get("source_id")),
                    "location": _text(e.get("location")),
                    "derivation": _text(e.get("derivation")),
                    "assumption": _text(e.get("assumption")),
                })
        sens = _filter(inputs.sensitivity, "analysis_id", aid)
        sensitivity = []
        if _has_rows(sens) and "kind" in sens.columns:
            kinds = [kd for kd in SENSITIVITY_KINDS if kd in set(sens["kind"].astype(str))]
            kinds += sorted(set(sens["kind"].astype(str)) - set(kinds))
            for kind in kinds:
                part = sens[sens["kind"].astype(str) == kind]
                sensitivity.append({
                    "kind": kind,
                    "title": SENSITIVITY_KINDS.get(kind, _humanise(kind)),
                    "figure": figure_uri(inputs.figures, f"{kind}_{aid}"),
                    "rows": [{
                        "label": _text(s.get("label")),
                        "estimate": fmt_effect(s.get("estimate"), measure),
                        "ci": fmt_effect_interval(s.get("ci_low"), s.get("ci_high"), measure),
                        "tau2": fmt_number(s.get("tau2"), 3),
                        "i2": fmt_percent(s.get("i2")),
                    } for s in _rows(part)],
                })
        for kind in ("cumulative", "leave1out"):
            if not any(s["kind"] == kind for s in sensitivity):
                uri = figure_uri(inputs.figures, f"{kind}_{aid}")
                if uri:
                    sensitivity.append({"kind": kind, "title": SENSITIVITY_KINDS[kind],
                                        "figure": uri, "rows": []})
        moderators = [{
            "kind": "Subgroup" if _text(m.get("kind")) == "subgroup" else "Meta-regression",
            "moderator": _text(m.get("moderator")),
            "term": _text(m.get("term")),
            "k": fmt_int(m.get("k")),
            # subgroup estimates are on the analysis' scale; test rows and slopes are not
            "estimate": (fmt_effect(m.get("estimate"), measure)
                         if _text(m.get("kind")) == "subgroup" else fmt_number(m.get("estimate"))),
            "ci": (fmt_effect_interval(m.get("ci_low"), m.get("ci_high"), measure)
                   if _text(m.get("kind")) == "subgroup"
                   else fmt_interval(m.get("ci_low"), m.get("ci_high"), fmt_number)),
            "statistic": fmt_number(m.get("statistic")),
            "df": fmt_number(m.get("df")),
            "p": fmt_p(m.get("pvalue")),
            "note": _text(m.get("note")),
        } for m in _rows(_filter(inputs.moderators, "analysis_id", aid))]
        ratio = measure in RATIO_MEASURES
        tf_k0 = _num(row.get("trimfill_k0"))
        out.append({
            "id": aid,
            "title": _text(row.get("title")) or _text(titles.get(aid)) or aid,
            "outcome": _text(row.get("outcome")),
            "measure": measure,
            "measure_label": MEASURE_LABELS.get(measure, measure),
            "ratio": ratio,
            **pooled_cells(row, partial(fmt_effect, measure=measure)),
            "percent": (fmt_percent(100 * (1 - math.exp(_num(row["estimate"]))))
                        if measure == "ROM" and _num(row.get("estimate")) is not None else None),
            "pvalue": fmt_p(row.get("pvalue")),
            "tau2": fmt_number(row.get("tau2"), 3),
            "tau2_ci": fmt_interval(row.get("tau2_ci_low"), row.get("tau2_ci_high"),
                                    lambda v: fmt_number(v, 3)),
            "h2": fmt_number(row.get("h2")),
            "q": fmt_number(row.get("q")),
            "q_df": fmt_int(row.get("q_df")),
            "q_pvalue": fmt_p(row.get("q_pvalue")),
            "method": _text(row.get("method")),
            "test": _text(row.get("test")),
            "studies": _text(row.get("studies")),
            "egger_p": fmt_p(row.get("egger_pvalue")),
            "trimfill_k0": fmt_int(tf_k0),
            "small_k": k is None or k < EGGER_MIN_K,
            "forest": figure_uri(inputs.figures, f"forest_{aid}"),
            "funnel": figure_uri(inputs.figures, f"funnel_{aid}"),
            "study_rows": study_rows,
            "sensitivity": sensitivity,
            "moderators": moderators,
            "single": k == 1,
            "certainty": _analysis_certainty(inputs.certainty, aid),
        })
        if k == 1:
            # One trial: no heterogeneity exists (never "0%"), and the test is a z test,
            # as metafor falls back to it with k = 1.
            # (pooled_cells already says so for the prediction interval and I^2)
            out[-1].update({"tau2": NOT_FOR_ONE, "tau2_ci": "",
                            "h2": "", "q": NOT_FOR_ONE, "q_df": "",
                            "q_pvalue": "",
                            "test": "z (one trial: the estimate is the trial's own, tested "
                                    "with z as metafor does for k = 1)"})
    return out


def _effect_kind(row: Mapping[str, Any], measure: str) -> str:
    """Which standardised difference a row holds, when it is not Hedges' g.

    A reported Cohen's d is corrected to Hedges' g wherever arm sizes are known; one that
    could not be corrected keeps its name, so no label calls it g.
    """
    if measure == "SMD" and "Cohen's d as reported" in _text(row.get("derivation")):
        return " (Cohen's d, uncorrected)"
    return ""


def _analysis_certainty(table: pd.DataFrame | None, analysis_id: str) -> dict[str, Any] | None:
    """The certainty of one analysis for 'any effect' (rows with an empty claim id)."""
    domains = _certainty_domains(table, "", analysis_id)
    if not domains:
        return None
    ids = table["claim_id"].map(_text)
    overall = table[(ids == "") & (table["analysis_id"].map(_text) == analysis_id)
                    & (table["domain"].map(_text) == "overall")]
    level = _text(overall["judgement"].iloc[0]) if len(overall) else ""
    return {"level": level, "label": CERTAINTY_LABELS.get(level, "not rated"),
            "symbol": CERTAINTY_SYMBOLS.get(level, ""), "domains": domains}


def _not_yet_classified(screening: pd.DataFrame | None) -> list[dict[str, str]]:
    """Screened records of studies still ongoing or awaiting classification (not excluded).

    PRISMA 2020 and the Cochrane Handbook report these apart from the excluded studies; the
    curator's reason text carries the registry status and expected completion.
    """
    if not _has_rows(screening) or "reason_code" not in screening:
        return []
    rows = screening[screening["reason_code"].isin(list(NOT_YET_CLASSIFIED))]
    return [{"record": _text(row.get("record_id")),
             "kind": ("Ongoing" if row.get("reason_code") == "ongoing_no_results"
                      else "Awaiting classification"),
             "why": _text(row.get("reason_text"))} for row in _rows(rows)]


def _missing_section(inputs: ReportInputs, analyses: Sequence[Mapping[str, Any]],
                     claims: Sequence[Mapping[str, Any]],
                     prevention: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    not_poolable = []
    for row in _rows(inputs.not_poolable):
        not_poolable.append({
            "study": _text(row.get("label")) or _text(row.get("study")) or
            _text(row.get("study_id")),
            "outcome": _text(row.get("outcome")),
            "timepoint": _text(row.get("timepoint")),
            "reason": _text(row.get("reason")),
            "narrative": _text(row.get("narrative")),
            "source": source_links(row.get("source") or row.get("source_id")),
        })
    pooled_ids = {a["id"] for a in analyses if a["k"] not in (DASH, "0")}
    no_data = [{"id": a.id, "title": a.title}
               for a in _configured_analyses(inputs) if a.id not in pooled_ids]
    no_evidence_claims = [c for c in claims if c["k"] in (DASH, "0")]
    awaiting = []
    if _has_rows(inputs.screening) and {"stage", "decision", "decided_by"} <= set(
            inputs.screening.columns):
        curated = (inputs.characteristics["study_id"] if _has_rows(inputs.characteristics)
                   else [])
        for row in _rows(awaiting_curation(inputs.screening, curated)):
            awaiting.append({"record": _text(row.get("record_id")),
                             "study": _text(row.get("study_id")),
                             "source": _text(row.get("source")),
                             "why": _text(row.get("why"))})
    return {"not_poolable": not_poolable, "no_data": no_data, "awaiting": awaiting,
            "not_yet_classified": _not_yet_classified(inputs.screening),
            "no_evidence_claims": no_evidence_claims, "prevention": prevention,
            "not_poolable_state": _state(inputs.not_poolable)}


def input_status(inputs: ReportInputs) -> list[dict[str, str]]:
    status = []
    for name in INPUT_DESCRIPTIONS:
        value = getattr(inputs, name)
        state = _state(value)
        detail = (f"{len(value)} rows" if isinstance(value, pd.DataFrame) and state == "loaded"
                  else state)
        status.append({"name": name, "path": inputs.path_of(name), "state": state,
                       "detail": detail})
    n_fig = sum(1 for stem in inputs.figures if figure_uri(inputs.figures, stem))
    status.append({"name": "figures", "path": inputs.path_of("figures"),
                   "state": "loaded" if n_fig else "missing",
                   "detail": f"{n_fig} figures" if n_fig else "missing"})
    return status


def _synthesis_label(first_author: str, year: str, journal: str) -> str:
    """A review's heading for readers: first author (else the journal or record type) and year.

    The curators' ``synthesis_id`` is an internal key and is never shown as a heading; a year
    that is not recorded reads "n.d." (no date), as in a reference list.
    """
    who = first_author or journal.split(" (")[0].strip() or "Review (author not recorded)"
    return f"{who[:1].upper()}{who[1:]} {year or 'n.d.'}"


def _syntheses_section(table: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Published results grouped by review: the review once, then its results as printed.

    Review-level text (journal, scope, conclusion, source) is taken from the review's first
    row; a result's notes are shown beside it only where they differ from that row's notes.
    """
    if not _has_rows(table):
        return []
    groups: dict[str, dict[str, Any]] = {}
    for row in _rows(table):
        def cell(name: str, row: Mapping[str, Any] = row) -> str:
            return _text(row.get(name)).strip()

        key = cell("synthesis_id")
        if key not in groups:
            groups[key] = {
                "synthesis": _synthesis_label(cell("first_author"), cell("year"),
                                              cell("journal")),
                "journal": cell("journal"), "scope": cell("design_scope"),
                "search_date": cell("search_date"), "conclusion": cell("conclusion"),
                "direction": cell("direction_note"),
                "notes": cell("notes"), "source": source_links(cell("source_id")),
                "location": cell("location"), "results": [],
            }
        interval = (f"{cell('ci_low')} to {cell('ci_high')}"
                    if cell("ci_low") and cell("ci_high") else "")
        estimate = cell("estimate")
        groups[key]["results"].append({
            "k": cell("n_studies"), "outcome": cell("outcome"), "timepoint": cell("timepoint"),
            "measure": cell("measure"),
            "result": (f"{estimate} ({interval})" if interval else estimate) or "in words only",
            "p": cell("pvalue"), "i2": cell("i2"),
            "notes": cell("notes") if cell("notes") != groups[key]["notes"] else "",
        })
    return list(groups.values())
