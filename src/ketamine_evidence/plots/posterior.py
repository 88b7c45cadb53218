"""The posterior of the overall effect with a claim's range shaded (one figure per claim)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from ketamine_evidence.analysis.posterior import percent

from ._common import (
    CLAIM_COLOUR,
    FONT_SIZE,
    POOLED_COLOUR,
    SMALL_FONT_SIZE,
    TEXT_GREY,
    TITLE_FONT_SIZE,
    new_figure,
)

# claim metric -> (analysis scale -> metric, |d analysis / d metric|)
_TO_METRIC = {
    "smd": (lambda y: y, lambda m: np.ones_like(m)),
    "md": (lambda y: y, lambda m: np.ones_like(m)),
    "percent_reduction": (lambda y: 100.0 * (1.0 - np.exp(y)), lambda m: 1.0 / (100.0 - m)),
    "rr": (np.exp, lambda m: 1.0 / m),
    "or": (np.exp, lambda m: 1.0 / m),
}


def posterior_plot(
    mixture,
    *,
    metric: str,
    claimed_range: tuple[float, float],
    interval: tuple[float, float],
    p_claim: float,
    p_claim_pred: float = math.nan,
    threshold: float = math.nan,
    prior_label: str = "",
    xlabel: str = "",
    title: str = "",
    ax=None,
) -> Figure:
    """Posterior density of mu (solid) and of a new trial's effect (dotted) on the claim's
    scale, with the claimed range shaded under the curve of mu.

    Parameters
    ----------
    mixture : ketamine_evidence.meta.PosteriorMixture
        The saved posterior (analysis scale: log ratios for ROM, RR, OR).
    metric : {"smd", "md", "percent_reduction", "rr", "or"}
        The claim's scale; densities are transformed to it (change of variables).
    claimed_range : (float, float)
        The claim's range on its scale (infinite ends allowed).
    interval : (float, float)
        An interval on the analysis scale (e.g. the 95% prediction interval) around which
        the x range is drawn.
    p_claim, p_claim_pred : float
        Probabilities printed on the figure (computed by :mod:`ketamine_evidence.analysis.posterior`).
    threshold : float
        Meaningful-effect threshold on the claim's scale (dashed line), NaN for none.
    prior_label, xlabel, title : str
        Texts.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    to_metric, jacobian = _TO_METRIC[metric]
    fig = new_figure(7.0, 3.6) if ax is None else ax.figure
    ax = fig.add_subplot(1, 1, 1) if ax is None else ax
    lo, hi = interval
    width = max(hi - lo, 1e-6)
    y = np.linspace(lo - 0.35 * width, hi + 0.35 * width, 1201)
    if metric == "percent_reduction":
        y = y[to_metric(y) > -400.0]  # a 400% increase is off any useful axis
    m = to_metric(y)
    order = np.argsort(m)
    m = m[order]
    dens = (mixture.density_mu(y) * jacobian(to_metric(y)))[order]
    pred = (mixture.density_pred(y) * jacobian(to_metric(y)))[order]
    ax.plot(m, dens, color=POOLED_COLOUR, lw=1.6, label="overall effect (mu)")
    ax.plot(m, pred, color=TEXT_GREY, lw=1.1, ls=":", label="effect in a new trial")
    a, b = claimed_range
    inside = (m >= a) & (m <= b)
    ax.fill_between(m, 0, dens, where=inside, color=CLAIM_COLOUR, alpha=0.45, lw=0,
                    label="claimed range")
    for bound in (a, b):
        if math.isfinite(bound) and m[0] <= bound <= m[-1]:
            ax.axvline(bound, color=CLAIM_COLOUR, lw=1.0)
    null = 1.0 if metric in ("rr", "or") else 0.0
    if m[0] <= null <= m[-1]:
        ax.axvline(null, color=TEXT_GREY, lw=0.8)
    if math.isfinite(threshold) and m[0] <= threshold <= m[-1]:
        ax.axvline(threshold, color=TEXT_GREY, lw=1.0, ls="--",
                   label="meaningful-effect threshold")
    ax.set_ylim(bottom=0)
    ax.set_yticks([])
    ax.set_ylabel("posterior density", fontsize=FONT_SIZE)
    ax.set_xlabel(xlabel, fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    text = f"P(claimed range) = {percent(p_claim)}"
    if math.isfinite(p_claim_pred):
        text += f"\nfor a new trial: {percent(p_claim_pred)}"
    if prior_label:
        text += f"\n{prior_label}"
    ax.text(0.99, 0.97, text, transform=ax.transAxes, ha="right", va="top",
            fontsize=SMALL_FONT_SIZE, color=TEXT_GREY)
    ax.legend(loc="upper left", fontsize=SMALL_FONT_SIZE, frameon=False)
    if title:
        ax.set_title(title, fontsize=TITLE_FONT_SIZE, loc="left")
    fig.tight_layout()
    return fig

