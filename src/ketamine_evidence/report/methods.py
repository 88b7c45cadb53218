"""The report's Methods section and search record: how the review was done, from the recorded settings (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ketamine_evidence.wording import (
    ELIGIBILITY_WORDING,
)

from .format import _flatten, _has_rows, _humanise, _num, _rows, _state, _text
from .model import DASH, EGGER_MIN_K, SOFTWARE, ReportInputs
from .studies import _search_status, full_text_status


def prediction_interval_text(test: str, pi_df: str | None) -> str:
    """How the prediction interval's critical value was chosen, in words.

    Mirrors :func:`ketamine_evidence.meta.rma`: with ``pi_df`` unset the critical value of
    the test is used (metafor ``predict()``): normal for ``z``, t with k - 1 df for ``knha``
    and ``adhoc``; ``pi_df`` ``"k-1"``/``"k-2"`` forces a t distribution with that many df.
    """
    if pi_df not in (None, ""):
        df = str(pi_df).replace("-", "\u2212")
        return f"t distribution with {df} df"
    if test == "z":
        return "metafor predict(): normal (z) critical value, as the test"
    return "metafor predict(): t distribution with k\u22121 df, as the test"


def bayes_methods_text(settings: Mapping[str, Any]) -> str:
    """The priors of the Bayesian analysis in words (config ``analysis.bayes``)."""
    priors = settings.get("priors") or {}
    if not priors:
        return "not run (no prior configured)"
    family = {"halfnormal": "half-normal", "halfcauchy": "half-Cauchy"}
    parts = []
    for measure, spec in priors.items():
        unit = " \u00d7 the unit information SD" if spec.get("scale_unit") == "uisd" else ""
        mu = spec.get("mu_prior_sd")
        sd = f"({_text(mu)}{unit})" if unit else _text(mu)
        mu_text = "uniform prior on mu" if mu is None else f"mu ~ N(0, {sd}\u00b2)"
        parts.append(f"{measure}: tau ~ {family.get(spec.get('tau_prior'), '')}"
                     f"({_text(spec.get('tau_scale'))}{unit}), {mu_text}")
    sens = "; ".join(
        f"{family.get(s.get('tau_prior'), 'same family')} with scale \u00d7{_text(s['scale_factor'])}"
        for s in settings.get("sensitivity") or [])
    return ("normal-normal hierarchical model computed by numerical integration over tau "
            "(R\u00f6ver 2020, bayesmeta's model); weakly informative priors on the "
            "between-trial SD tau (Friede et al. 2017; R\u00f6ver et al. 2021): "
            + "; ".join(parts)
            + (f". Sensitivity set: {sens} (results/sensitivity.csv, "
               "results/claim_probabilities.csv)" if sens else "")
            + ". The probability of a claim is the posterior probability that the true "
            "average effect lies in the claimed range.")


def _methods_section(inputs: ReportInputs) -> dict[str, Any]:
    settings, analysis = inputs.settings, inputs.analysis
    if settings is None or analysis is None:
        return {**_conduct(inputs, analyses=0),
                "title": "", "queries": [], "choices": [], "analyses": [], "eligibility": [],
                "manifest": _manifest_view(inputs.manifest) if inputs.manifest else None,
                "manifest_state": _state(inputs.manifest), "versions": _versions(inputs)}
    search = settings.search
    window = f"{search.date_from} to {search.date_to or 'refresh'}"
    ctgov = (f"conditions: {'; '.join(search.ctgov.conditions)}; "
             f"interventions: {'; '.join(search.ctgov.interventions)}")
    queries = [{"source": "PubMed", "query": " ".join(search.pubmed.term.split()),
                "window": window},
               {"source": "ClinicalTrials.gov", "query": ctgov, "window": "all dates"}]
    method, test, pi_df = analysis.method, analysis.test, analysis.pi_df
    test_text = {
        "knha": "Hartung-Knapp-Sidik-Jonkman (t distribution with k\u22121 df)",
        "z": "Wald-type normal (z) interval",
        "adhoc": "Hartung-Knapp with the ad hoc variance correction",
    }.get(test, test)
    estimator_text = {
        "REML": "restricted maximum likelihood (REML)",
        "DL": "DerSimonian-Laird",
        "ML": "maximum likelihood",
        "PM": "Paule-Mandel",
        "EB": "empirical Bayes",
        "HS": "Hunter-Schmidt",
        "SJ": "Sidik-Jonkman",
        "HE": "Hedges",
        "EE": "equal effects (common effect, no tau\u00b2)",
    }.get(method, method)
    choices = [
        ("Model", "random effects, inverse-variance weights"),
        ("Between-study variance (tau\u00b2)", estimator_text),
        ("Confidence interval of the pooled effect", f"{analysis.level:.0%} {test_text}"),
        ("Prediction interval", prediction_interval_text(test, pi_df)),
        ("Interval for tau\u00b2", "Q-profile (Viechtbauer 2007)"),
        ("Crossover trials", "paired analysis assuming a within-person correlation "
         f"r = {_text(analysis.crossover_r)}; sensitivity at "
         f"{', '.join(_text(r) for r in analysis.crossover_r_sensitivity)}"),
        ("Instrument priority within a study",
         ", ".join(_text(i) for i in analysis.instrument_priority) or DASH),
        ("Effect size benchmarks (|SMD|)",
         ", ".join(f"{k} {_text(v)}" for k, v in analysis.smd_benchmarks.items()) or DASH),
        ("Small-study effects", "Egger's regression test and trim-and-fill, reported only as "
         f"descriptive with fewer than {EGGER_MIN_K} studies"),
        ("Bayesian random effects", bayes_methods_text(analysis.bayes or {})),
    ]
    analyses = [
        {"id": a.id, "title": a.title, "outcome": a.outcome, "measure": a.measure,
         "window": " to ".join(_text(d) for d in a.window_days),
         "pick": a.pick,
         "filters": "; ".join(f"{k} = {', '.join(_text(x) for x in v)}"
                              for k, v in a.filters.items())}
        for a in analysis.analyses
    ]
    # the rules only: the *_label keys word the screening reasons and decide nothing
    rules = {k: v for k, v in settings.eligibility.to_dict().items()
             if k not in ELIGIBILITY_WORDING}
    elig_rows = [(_humanise(k), v) for k, v in _flatten(rules)]
    return {
        **_conduct(inputs, analyses=len(analysis.analyses)),
        "title": settings.review.title,
        "queries": queries,
        "manifest": _manifest_view(inputs.manifest) if inputs.manifest else None,
        "manifest_state": _state(inputs.manifest),
        "choices": choices,
        "analyses": analyses,
        "eligibility": elig_rows,
        "versions": _versions(inputs),
    }


# Sources a systematic review of trials usually searches (Cochrane Handbook ch. 4) that this
# workflow does not: named in the Methods so a reader knows what the search could miss.
NOT_SEARCHED = (
    "Embase", "PsycINFO", "Cochrane CENTRAL", "Web of Science", "Scopus",
    "WHO ICTRP and other trial registries besides ClinicalTrials.gov",
    "conference proceedings, theses and other grey literature",
)


def _conduct(inputs: ReportInputs, *, analyses: int) -> dict[str, Any]:
    """How the review was done (PRISMA 2020 items 5, 8, 9, 24 and 27): protocol, selection,
    data extraction, sources not searched and limitations, from what the inputs show."""
    screening = inputs.screening
    selection = ("Records were screened against the eligibility rules below by code (title, "
                 "abstract, publication type and registry fields). A reviewer checked the "
                 "automatic decisions and recorded each change, with its reason, in "
                 "screening_overrides.csv; one reviewer decided, not two independently.")
    if _has_rows(screening) and "decided_by" in screening.columns:
        by_reviewer = int(screening["decided_by"].astype(str).str.startswith("override").sum())
        selection += (f" Of {len(screening)} screening decisions, {len(screening) - by_reviewer}"
                      f" were the automatic rules' and {by_reviewer} a reviewer's.")
    extraction = ("One reviewer typed each number exactly as printed into extraction.csv, with "
                  "its source (PMID, NCT ID or URL) and location (abstract, table, registry "
                  "field); numbers were not extracted in duplicate. Conversions (SD from SE or "
                  "CI, counts from percentages, crossover and shared-control adjustments) are "
                  "done by code and recorded with each effect. Risk of bias was judged with "
                  "RoB 2 by one reviewer, with a justification and source for every domain.")
    protocol = ("No protocol was registered (e.g. in PROSPERO). The question, eligibility "
                "rules, the pre-specified analyses and the claims with their ranges are fixed "
                "in the review's configuration under version control, so every change to them "
                "is in the repository's history.")
    search = _search_status(inputs.manifest) or {}
    full_text = full_text_status(inputs.characteristics)
    limitations = []
    if search and search.get("status") not in ("run", "done"):
        limitations.append("No database search has been run: the records come only from the "
                           "reviewers' list of known reports and registrations, so trials that "
                           "list does not hold are missing.")
    limitations.append("Not searched: " + ", ".join(NOT_SEARCHED) + ".")
    if full_text and full_text["abstract_only"]:
        limitations.append(
            f"{full_text['abstract_only']} of {full_text['studies']} included studies were read "
            "only in their abstracts or registry records (full texts not retrieved), so most "
            "arm-level results could not be extracted.")
    limitations.append("Selection, extraction and risk-of-bias judgements were each made by "
                       "one reviewer, without independent duplicate assessment.")
    ks = [int(v) for v in (_num(r.get("k")) for r in _rows(inputs.pooled)) if v is not None]
    if ks and max(ks) < 10:
        limitations.append(
            f"At most {max(ks)} trial{'s' if max(ks) != 1 else ''} per analysis (fewer than "
            f"{EGGER_MIN_K}): small-study tests are not informative, and heterogeneity and "
            "prediction intervals are imprecise or not estimable.")
    if analyses:
        limitations.append(f"{analyses} analyses were pre-specified; those with no poolable "
                           "trial are listed, not dropped.")
    return {"protocol": protocol, "selection": selection, "extraction": extraction,
            "not_searched": list(NOT_SEARCHED), "limitations": limitations}


def _versions(inputs: ReportInputs) -> list[tuple[str, str]]:
    versions = [(name, _text(inputs.versions.get(name)) or "not recorded")
                for name in SOFTWARE if name in inputs.versions]
    versions += [(name, _text(v)) for name, v in inputs.versions.items() if name not in SOFTWARE]
    return versions


def _manifest_view(manifest: Mapping[str, Any] | None) -> dict[str, Any]:
    """The snapshot manifest: search status, one row per source, the rest as key/value rows."""
    manifest = manifest or {}
    sources = []
    raw_sources = manifest.get("sources")
    if isinstance(raw_sources, Mapping):
        for key, meta in raw_sources.items():
            meta = meta if isinstance(meta, Mapping) else {"status": meta}
            counts = meta.get("counts") or {}
            sources.append({
                "source": {"pubmed": "PubMed", "ctgov": "ClinicalTrials.gov"}.get(key, key),
                "status": _text(meta.get("status")) or DASH,
                "query": _text(meta.get("query")) or DASH,
                "retrieved": _text(meta.get("retrieved_utc") or meta.get("retrieved")) or DASH,
                "counts": ", ".join(f"{_humanise(k).lower()} {_text(v)}"
                                    for k, v in counts.items()) if isinstance(counts, Mapping)
                else _text(counts),
            })
    other = manifest.get("other_methods")
    other_text = ""
    if isinstance(other, Mapping):
        other_text = _text(other.get("description"))
        if _text(other.get("file")):
            other_text += f" ({_text(other.get('file'))})"
    return {"search": _search_status(manifest), "sources": sources,
            "snapshot_date": _text(manifest.get("written_utc") or manifest.get("retrieved"))[:10],
            "other_methods": other_text}


def last_search(manifest: Mapping[str, Any] | None) -> str:
    """One line for the report header: when the databases were last searched, or that they
    were not, with the date of the snapshot the report was built from."""
    if not manifest:
        return "no retrieval manifest: search date unknown"
    dates = []
    sources = manifest.get("sources")
    if isinstance(sources, Mapping):
        for meta in sources.values():
            if isinstance(meta, Mapping):
                when = _text(meta.get("retrieved_utc") or meta.get("retrieved"))
                if when:
                    dates.append(when[:10])
    snapshot = _text(manifest.get("written_utc") or manifest.get("retrieved"))[:10]
    search = _search_status(manifest) or {}
    if dates:
        return f"databases last searched {max(dates)}"
    status = search.get("status", "unknown").replace("_", " ")
    as_of = search.get("as_of") or snapshot
    return (f"database search {status}" + (f" as of {as_of}" if as_of else "")
            + "; records from the reviewers' list only")
