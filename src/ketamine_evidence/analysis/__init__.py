"""The analysis step: the only stage that pools.

:mod:`.pooling` chooses the effects each configured analysis pools and runs the
random-effects model with its small-study and sensitivity analyses (pure); :mod:`.posterior`
adds the Bayesian fits under the configured priors and the claim probabilities read back
from them (pure); :mod:`.fits` saves every fit, with the settings used, to
``results/analyses.json`` and reads it back, so figures, claims and the report never pool
again; :mod:`.reproduce` re-derives the pooled numbers with statsmodels and writes the R
script that refits them with metafor. ``pooling`` imports ``posterior``; ``fits`` and
``reproduce`` import ``pooling``'s results.
Stage: statistics. It may import the statistics core (``meta``, ``effects``,
``conversions``, ``scales``), ``types``, ``config`` and ``tables``; synthesis and claims,
the figures, the report and the CLI use it.
"""
