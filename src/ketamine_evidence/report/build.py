"""The report page: sections rendered into one self-contained HTML string (pure)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from ketamine_evidence.report.living import changes_view, header_view
from ketamine_evidence.types import CERTAINTY_LEVELS
from ketamine_evidence.wording import (
    CERTAINTY_LABELS,
    CERTAINTY_SYMBOLS,
    SYNTHETIC_NOTE,
    VERDICT_LABELS,
    VERDICT_SYMBOLS,
)

from .claims import _claims_section, _direction_plot, _sof_section
from .format import _generic_table, _has_rows, _state
from .methods import _methods_section, last_search
from .model import EGGER_MIN_K, OPTIONAL_INPUTS, VERDICTS, ReportInputs
from .studies import (
    _analysis_sections,
    _characteristics_section,
    _missing_section,
    _prisma_section,
    _registry_section,
    _rob_section,
    _syntheses_section,
    input_status,
)

TEMPLATE_DIR = Path(__file__).parent.parent / "templates"


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_report(inputs: ReportInputs) -> str:
    """Render the whole review as one self-contained HTML page.

    Parameters
    ----------
    inputs
        The loaded tables, dicts and figure bytes (see :class:`ReportInputs`). Any of them may
        be ``None`` (missing) or empty; the page then says so in the section concerned.

    Returns
    -------
    str
        The HTML document. It references no external resource: figures are base64 ``data:``
        URIs, the CSS is inline and there is no JavaScript. All text is HTML-escaped.
    """
    claims = _claims_section(inputs)
    analyses = _analysis_sections(inputs)
    characteristics = _characteristics_section(inputs)
    status = input_status(inputs)
    context = {
        "title": inputs.settings.review.title if inputs.settings else "Evidence review",
        "generated_on": inputs.generated_on or "",
        "header": header_view(inputs.stamp, inputs.manifest,
                              inputs.settings.review.snapshot_dir if inputs.settings else None),
        "stale": bool(inputs.stamp and inputs.stamp.get("status") == "stale"),
        "changes": changes_view(inputs.changes),
        "claims": claims,
        "claims_state": _state(inputs.claims),
        "verdict_counts": [(v, VERDICT_LABELS[v], VERDICT_SYMBOLS[v],
                            sum(c["verdict"] == v for c in claims)) for v in VERDICTS],
        "labels": inputs.wording,
        "synthetic_note": SYNTHETIC_NOTE,
        "verdict_labels": VERDICT_LABELS,
        "verdict_symbols": VERDICT_SYMBOLS,
        "within_arm": _generic_table(inputs.within_arm),
        "sof": _sof_section(inputs),
        "sof_state": _state(inputs.summary_of_findings),
        "direction_plot": _direction_plot(inputs, claims),
        "certainty_labels": CERTAINTY_LABELS,
        "certainty_symbols": CERTAINTY_SYMBOLS,
        "certainty_counts": [(lv, CERTAINTY_LABELS[lv], CERTAINTY_SYMBOLS[lv],
                              sum(c["certainty"] == lv for c in claims))
                             for lv in reversed(CERTAINTY_LEVELS)],
        "methods": _methods_section(inputs),
        "last_search": last_search(inputs.manifest),
        "prisma": _prisma_section(inputs),
        "characteristics": characteristics,
        "rob": _rob_section(inputs),
        "analyses": analyses,
        "pooled_state": _state(inputs.pooled),
        "registry": _registry_section(inputs),
        "syntheses": _syntheses_section(inputs.published_syntheses),
        "syntheses_state": _state(inputs.published_syntheses),
        "missing": _missing_section(inputs, analyses, claims,
                                    characteristics["groups"]["prevention"]),
        "status": status,
        # the file of each input, as the sections name it when it is missing or empty
        "paths": {s["name"]: s["path"] for s in status},
        # A missing file means a step did not run: warn. An empty table is a real answer
        # (e.g. no registry results in the snapshot yet): say so quietly.
        "incomplete": [s for s in status if s["state"] == "missing"
                       and s["name"] not in OPTIONAL_INPUTS
                       # the processed study list only stands in for the characteristics
                       and not (s["name"] == "studies" and _has_rows(inputs.characteristics))],
        "empty_inputs": [s for s in status if s["state"] == "empty"],
        "egger_min_k": EGGER_MIN_K,
    }
    return _environment().get_template("report.html.j2").render(**context)
