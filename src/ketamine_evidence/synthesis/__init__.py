"""Synthesis and claims: verdicts, thresholds, vote counting and GRADE certainty (pure).

:mod:`.vote_counting` counts every trial that reported an outcome by the direction of its
effect, including results reported only in words (synthesis without meta-analysis);
:mod:`.thresholds` resolves each claim's "any effect" and "meaningful effect" thresholds;
:mod:`.claims` compares each pooled estimate with the claimed range and gives the verdict;
:mod:`.certainty` rates the certainty of evidence by the five GRADE domains; :mod:`.grade`
assembles the evidence per claim, rates it with :mod:`.certainty` and writes the columns of
``claims.csv``, ``certainty.csv`` and the Summary of findings. Each imports only those
listed before it.
Stage: synthesis and claims, after the analysis stage. It may import ``types``, ``config``,
``wording`` (the labels the config defines), ``analysis.pooling``'s selection helpers and the
statistics core (``scales`` for the claim metrics); no module here reads or writes files
(the CLI does). The report and the CLI use it.
"""
