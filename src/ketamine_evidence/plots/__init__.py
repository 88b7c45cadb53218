"""Publication figures for the review: forest, funnel, cumulative, leave-one-out, PRISMA, RoB 2,
and the posterior of each claim's effect with its claimed range shaded.

Every plotting function takes ``ax=None`` (or creates its own figure) and returns the
:class:`~matplotlib.figure.Figure`; it draws numbers computed elsewhere (``meta``, ``bias``,
the PRISMA counts) and computes nothing beyond layout. :func:`save_figure` is the only IO.
Stage: presentation. It may import the pure core (``meta`` results, ``posterior``, the
labels) and ``tables`` for :func:`save_figure`; it never reads the workflow's files.
"""

from ._common import (
    EXP,
    OKABE_ITO,
    PERCENT_CHANGE,
    PERCENT_REDUCTION,
    ScaleTransform,
)
from .forest import cumulative_plot, forest_plot, heterogeneity_text, leave1out_plot
from .funnel import funnel_plot
from .io import save_figure
from .posterior import posterior_plot
from .prisma import prisma_boxes, prisma_flow
from .rob import rob_matrix, rob_summary

__all__ = [
    "EXP",
    "OKABE_ITO",
    "PERCENT_CHANGE",
    "PERCENT_REDUCTION",
    "ScaleTransform",
    "cumulative_plot",
    "forest_plot",
    "funnel_plot",
    "heterogeneity_text",
    "posterior_plot",
    "leave1out_plot",
    "prisma_boxes",
    "prisma_flow",
    "rob_matrix",
    "rob_summary",
    "save_figure",
]
