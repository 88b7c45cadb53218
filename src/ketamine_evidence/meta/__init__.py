"""Meta-analysis core of ketamine-evidence: pure functions, no IO.

Common-effect and random-effects pooling with the tau^2 estimators, tests and
heterogeneity statistics of metafor (Viechtbauer 2010), checked against metafor to
1e-6 relative on reference data (``tests/results/meta_reference.json``), and Bayesian
random-effects meta-analysis (:func:`bayes`, :func:`bayes_many`) by numerical integration,
checked against R's bayesmeta (``tests/results/bayes_reference.json``).

Stage: statistics. It owns pooling and imports only numpy, scipy and statsmodels (and
the package's error and warning classes): no IO and no other part of the package, so every
stage may use it.

>>> from ketamine_evidence.meta import rma
>>> res = rma([0.2, 0.5, 0.1, 0.4], [0.04, 0.05, 0.03, 0.06])
>>> round(res.estimate, 4), res.method, res.test
(0.2632, 'REML', 'knha')
"""

from ._bayes import (
    TAU_PRIORS,
    BayesManyResult,
    BayesResult,
    PosteriorMixture,
    bayes,
    bayes_many,
)
from ._core import MetaRegResult, RMAManyResult, RMAResult, metareg, rma, rma_many
from ._crosscheck import (
    CROSSCHECK_RTOL,
    CrossCheck,
    CrossCheckError,
    statsmodels_crosscheck,
)
from ._crosscheck import QUANTITIES as CROSSCHECK_QUANTITIES
from ._sensitivity import (
    RegtestResult,
    SubgroupResult,
    Tau2CI,
    TrimfillResult,
    cumul,
    leave1out,
    regtest,
    subgroup,
    tau2_confint,
    trimfill,
)
from ._validate import METHODS, TESTS, MetaAnalysisWarning

__all__ = [
    "CROSSCHECK_QUANTITIES",
    "CROSSCHECK_RTOL",
    "CrossCheck",
    "CrossCheckError",
    "BayesManyResult",
    "BayesResult",
    "METHODS",
    "TAU_PRIORS",
    "TESTS",
    "MetaAnalysisWarning",
    "PosteriorMixture",
    "MetaRegResult",
    "RMAManyResult",
    "RMAResult",
    "RegtestResult",
    "SubgroupResult",
    "Tau2CI",
    "TrimfillResult",
    "bayes",
    "bayes_many",
    "cumul",
    "leave1out",
    "metareg",
    "regtest",
    "rma",
    "rma_many",
    "statsmodels_crosscheck",
    "subgroup",
    "tau2_confint",
    "trimfill",
]
