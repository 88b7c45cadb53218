"""Forest plots: the classic study-level forest, cumulative and leave-one-out forests.

All numbers come from the analysis objects passed in (``meta.rma`` results, ``meta.cumul`` /
``meta.leave1out`` frames); the plots only lay them out. See ``ketamine_evidence.meta``.

Layout
------
:mod:`.axis` draws the pieces every forest shares (effect axis, ticks, intervals, diamonds,
claim bands, direction labels); :mod:`.table` lays out the study table beside the axis and
the heterogeneity line; :mod:`.figures` composes them into :func:`forest_plot`,
:func:`cumulative_plot` and :func:`leave1out_plot`. Presentation only: no IO, no statistics.
"""

from __future__ import annotations

from .axis import (  # noqa: F401
    ARROW_SIZE,
    CLAIM_MIN_SHARE,
    DIAMOND_HALF_HEIGHT,
    SQUARE_MAX_PT2,
    SQUARE_MIN_PT2,
)
from .figures import (  # noqa: F401
    cumulative_plot,
    forest_plot,
    leave1out_plot,
)
from .table import (  # noqa: F401
    heterogeneity_text,
)
