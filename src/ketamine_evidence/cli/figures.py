"""Subcommand ``figures``: forest, funnel, cumulative, leave-one-out, PRISMA and RoB figures.

Figures are written as PNG and SVG under ``--output-dir`` with stable names
(``forest_<analysis_id>``, ``funnel_<analysis_id>``, ``cumulative_<analysis_id>``,
``leave1out_<analysis_id>``, ``prisma``, ``rob_summary``) and listed in ``index.csv``
(figure, analysis_id, kind, files) so the report and ``snakemake --report`` can find them.
An analysis draws only the figures that are defined for its k (forest k >= 1, cumulative
k >= 2, funnel and leave-one-out k >= 3); index.csv says which were skipped and why.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from ketamine_evidence import plots, scales
from ketamine_evidence.analysis import pooling, posterior
from ketamine_evidence.analysis.fits import read_fits
from ketamine_evidence.cli.files import file_option
from ketamine_evidence.config import ClaimSpec, Settings, VocabularySettings, load_settings
from ketamine_evidence.plots.funnel import funnel_plot
from ketamine_evidence.plots.prisma import prisma_flow
from ketamine_evidence.plots.rob import rob_summary
from ketamine_evidence.report import full_text_status
from ketamine_evidence.synthesis.claims import claim_bounds
from ketamine_evidence.tables import read_json, read_table, write_table
from ketamine_evidence.wording import (
    AXIS_MEASURE_LABELS,
    CLAIM_AXIS_LABELS,
    SYNTHETIC_NOTE,
    Wording,
    wording_for,
)

TRANSFORMS = {"ROM": "percent_reduction", "RR": "exp", "OR": "exp"}


def axis_label(measure: str, instruments) -> str:
    """The x-axis label: the measure and the instrument(s) it was measured on, e.g.
    "Mean difference (IES-R points)" or "Risk ratio; CAPS-5"."""
    label = AXIS_MEASURE_LABELS.get(measure, measure)
    names = sorted({str(i).strip() for i in instruments
                    if isinstance(i, str) and str(i).strip()})
    if not names:
        return label
    if measure == "MD":
        return f"Mean difference ({', '.join(names)} points)"
    return f"{label}; {', '.join(names)}"


def _direction(outcome: str, wording: Wording, vocabulary: VocabularySettings) -> dict:
    """Keywords for the labels under the axis, either side of the line of no effect.

    The plot is drawn on the analysis scale (log ratios for ROM, RR, OR), so "left of the
    line" means a lower value in the intervention arm (arm 1) whatever the displayed scale.
    Which way is better depends on the outcome (``vocabulary.outcomes``: lower symptom
    scores, higher response rates); a harm gets "less/more with" instead of "favours".
    """
    if outcome in vocabulary.outcomes_where("harm", True):
        return {"favours": None, "direction_labels": wording.harm_direction_labels}
    return {"favours": wording.favours(outcome in vocabulary.outcomes_where("better", "higher"))}


def _claim_band(analysis_id: str, claims: tuple[ClaimSpec, ...]
                ) -> tuple[tuple[float, float] | None, str | None]:
    """The first claim on this analysis, as a range on the analysis' display scale."""
    matching = [c for c in claims if c.analysis == analysis_id]
    if not matching:
        return None, None
    claim = matching[0]
    label = f"Claim {claim.id}: \u201c{claim.text}\u201d"
    return claim_bounds(claim.claimed_range), label


def _figure_rows(outcome: pooling.AnalysisOutcome, settings: Settings,
                 risk_of_bias: pd.DataFrame | None = None):
    """Yield (kind, figure or None, reason) for one analysis, labelled from ``settings``
    (``review`` names the arms, ``vocabulary`` says which way is better, ``claims``)."""
    wording, claims = wording_for(settings), settings.claims
    spec = outcome.spec
    measure = spec.measure
    transform = TRANSFORMS.get(measure)
    k = outcome.k
    if k == 0:
        yield "forest", None, "no poolable effect"
        return
    band, band_label = _claim_band(spec.id, claims)
    ref = 0.0
    direction = _direction(spec.outcome, wording, settings.vocabulary)
    studies = pooling.study_effects_table(outcome).rename(columns={"row_label": "study"})
    label = axis_label(measure, studies.get("instrument", ()))
    yield "forest", plots.forest_plot(
        outcome.result, studies, measure_label=label, claim_range=band, claim_label=band_label,
        claim_scale="display", transform=transform, ref_line=ref, **direction,
        arm_labels=wording.arm_labels,
        extra_columns={"Scale": "instrument", "Time": "timepoint"}, title=spec.title,
        risk_of_bias=risk_of_bias if risk_of_bias is not None and len(risk_of_bias) else None,
    ), ""
    if outcome.cumulative is not None:
        yield "cumulative", plots.cumulative_plot(
            outcome.cumulative, measure_label=label, transform=transform, **direction,
            title=f"Cumulative meta-analysis by year: {spec.title}"), ""
    else:
        yield "cumulative", None, f"k={k}: cumulative analysis needs 2 studies"
    if outcome.leave1out is not None:
        yield "leave1out", plots.leave1out_plot(
            outcome.leave1out, outcome.result, measure_label=label, transform=transform,
            **direction,
            title=f"Leave-one-out: {spec.title}"), ""
    else:
        yield "leave1out", None, f"k={k}: leave-one-out needs 3 studies"
    if outcome.egger is not None:
        yield "funnel", funnel_plot(outcome.result, regtest=outcome.egger,
                                    trimfill=outcome.trimfill, measure_label=label,
                                    transform=transform, title=spec.title), ""
    else:
        yield "funnel", None, f"k={k}: funnel plot and Egger's test need 3 studies"


def _posterior_figures(claims: pd.DataFrame, mixtures_table: pd.DataFrame):
    """Yield (figure name, claim id, figure or None, reason): the posterior of each claim's
    effect under the main prior, with the claimed range shaded (saved results only)."""
    mixtures = posterior.read_mixtures(mixtures_table)
    for _, row in claims.iterrows():
        name = f"posterior_{row['claim_id']}"
        key = (str(row["analysis_used"]), posterior.MAIN_PRIOR)
        if key not in mixtures or not pd.notna(row.get("p_claim")):
            yield name, row["claim_id"], None, "no Bayesian posterior (no poolable trial)"
            continue
        metric = str(row["metric"])
        mixture, label = mixtures[key]
        interval = scales.range_to_analysis(metric, float(row["bayes_pi_low"]),
                                            float(row["bayes_pi_high"]))
        yield name, row["claim_id"], plots.posterior_plot(
            mixture, metric=metric,
            claimed_range=(float(row["claimed_low"]), float(row["claimed_high"])),
            interval=interval, p_claim=float(row["p_claim"]),
            p_claim_pred=float(row["p_claim_pred"]),
            threshold=float(row.get("meaningful_threshold", float("nan"))),
            prior_label=label, xlabel=CLAIM_AXIS_LABELS.get(metric, metric),
            title=f"Claim {row['claim_id']}: \u201c{row['text']}\u201d"), ""


def figures_command(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    outdir = Path(args.output_dir)
    outdir.mkdir(parents=True, exist_ok=True)
    _, outcomes = read_fits(args.analyses)  # drawn from what the analyze step saved
    index = []
    rob = read_table(args.risk_of_bias, required=False)

    synthetic = wording_for(settings).synthetic_data

    def save(fig, name: str, analysis_id: str, kind: str, reason: str = "") -> None:
        if fig is None:
            index.append({"figure": name, "analysis_id": analysis_id, "kind": kind,
                          "files": "", "skipped": reason})
            return
        if synthetic:  # made-up example data: the figure itself says so
            fig.text(0.5, 0.995, SYNTHETIC_NOTE, ha="center", va="top", fontsize=7,
                     color="#b00020", wrap=True)
        written = plots.save_figure(fig, outdir / name, formats=("png", "svg"), dpi=150)
        plt.close(fig)
        index.append({"figure": name, "analysis_id": analysis_id, "kind": kind,
                      "files": ";".join(Path(p).name for p in written), "skipped": ""})

    for outcome in outcomes:
        for kind, fig, reason in _figure_rows(outcome, settings, rob):
            save(fig, f"{kind}_{outcome.analysis_id}", outcome.analysis_id, kind, reason)
    counts = read_json(args.prisma)
    chars = read_table(args.characteristics, required=False)
    full_text = full_text_status(chars)
    save(prisma_flow(counts, title="PRISMA 2020 flow diagram",
                     abstract_only=full_text["abstract_only"] if full_text else None),
         "prisma", "", "prisma")
    if rob.empty:
        save(None, "rob_summary", "", "rob", "no risk-of-bias assessments")
    else:
        labels = dict(zip(chars["study_id"], chars["label"], strict=True)) if len(chars) else None
        save(rob_summary(rob, study_labels=labels), "rob_summary", "", "rob")
    if args.claims is not None and args.posterior is not None:
        for name, claim_id, fig, reason in _posterior_figures(
                read_table(args.claims), read_table(args.posterior, required=False)):
            save(fig, name, claim_id, "posterior", reason)
    write_table(pd.DataFrame(index), outdir / "index.csv")
    print(f"wrote {sum(bool(r['files']) for r in index)} figures to {outdir}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "figures", help="draw every figure of the review",
        description="Draw the forest, cumulative, leave-one-out and funnel plots of every "
                    "analysis, the PRISMA 2020 diagram and the risk-of-bias summary as PNG and "
                    "SVG; index.csv lists each figure or why it was skipped.")
    file_option(p, "--config", help="the review configuration (analyses and claims)")
    file_option(p, "--analyses", help="the fits saved by 'analyze' (figures never pool again)")
    file_option(p, "--prisma")
    file_option(p, "--risk-of-bias")
    file_option(p, "--characteristics", help="curated study characteristics (study labels)")
    file_option(p, "--claims", default=None,
                help="claims.csv written by 'claims' (with --posterior: one figure per claim, "
                     "the posterior of its effect with the claimed range shaded)")
    file_option(p, "--posterior", default=None)
    p.add_argument("--output-dir", "--outdir", type=Path, default=Path("results/figures"),
                   metavar="DIR", help="folder to write the figures and index.csv into")
    p.set_defaults(func=figures_command)
