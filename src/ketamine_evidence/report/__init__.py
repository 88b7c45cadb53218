"""Build the self-contained HTML report a reviewer opens in a browser.

Two layers:

* :func:`build_report` is pure: it takes already-loaded tables, dicts and figure bytes
  (:class:`ReportInputs`) and returns one HTML string. Every figure is embedded as a base64
  ``data:`` URI and the CSS is inline, so the file works offline with no JavaScript.
* :func:`load_report_inputs` and :func:`write_report` are the IO part: they read the workflow's
  outputs (any of which may be missing or empty) and write the HTML file.

Numbers are rounded here and only here: 2 decimals for SMD, MD and ratios, 0 decimals for
percentages (I², percent reduction, weights), p-values with 3 decimals or ``<0.001``.

Conventions of the inputs, as written by the other steps of the workflow:

* ``claims.csv`` is already on each claim's metric scale (``percent_reduction``, ``smd``,
  ``md``, ``rr``, ``or``).
* ``pooled.csv``, ``study_effects.csv`` and ``sensitivity.csv`` are on the analysis scale of
  metafor: ratio measures (``ROM``, ``RR``, ``OR``, ``HR``) are log ratios. The report shows
  them back-transformed (``exp``) and says so.
* ``i2`` is a percentage (metafor's ``I2``); study weights are percentages of the total (a set
  of weights summing to 1 is read as fractions).

Layout
------
:mod:`.model` holds the inputs type and the display labels; :mod:`.format` rounds and
formats numbers and links; :mod:`.claims`, :mod:`.studies` and :mod:`.methods` build the
report's sections (claims, certainty, Summary of findings; search flow, studies, risk of
bias, registry, analyses; methods and search record); :mod:`.build` renders them into the
page (pure); :mod:`.io` reads the workflow's outputs and writes the file (the only IO).
Each imports only those listed before it.
Stage: presentation. It may import every stage's results, ``config``, ``tables`` and
the plots' symbols; only :mod:`.io` touches files, and only the CLI imports it.
"""

from __future__ import annotations

# names the module had from elsewhere, still reachable as report.<name>
from ketamine_evidence.wording import VERDICT_LABELS  # noqa: F401

from .build import (  # noqa: F401
    TEMPLATE_DIR,
    build_report,
)
from .claims import (  # noqa: F401
    NOT_FOR_ONE,
    plain_reading,
    probability_text,
)
from .format import (  # noqa: F401
    ctgov_link,
    figure_uri,
    fmt_claimed_range,
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
from .io import (  # noqa: F401
    SYNTHESES_NUMERIC,
    SYNTHESES_REQUIRED,
    load_report_inputs,
    read_figures,
    read_json,
    read_published_syntheses,
    read_settings,
    software_versions,
    write_report,
)
from .methods import (  # noqa: F401
    NOT_SEARCHED,
    _methods_section,
    bayes_methods_text,
    last_search,
    prediction_interval_text,
)
from .model import (  # noqa: F401
    DASH,
    EGGER_MIN_K,
    INPUT_DESCRIPTIONS,
    MINUS,
    OPTIONAL_INPUTS,
    REGISTRY_FACT_LABELS,
    ROB_SYMBOLS,
    SOFTWARE,
    TABLE_FIELDS,
    VERDICTS,
    Link,
    ReportInputs,
)
from .studies import (  # noqa: F401
    PRISMA_BOXES,
    full_text_status,
    input_status,
)
