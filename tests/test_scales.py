"""The claim metrics' transforms between the analysis scale and the claim's scale."""

import math

import pytest

from ketamine_evidence import scales
from ketamine_evidence.types import METRICS


def test_every_metric_has_a_transform():
    assert tuple(scales.METRIC_TRANSFORMS) == METRICS


@pytest.mark.parametrize("metric", METRICS)
def test_metric_inverse(metric):
    for y in (-1.3, -0.2, 0.0, 0.4):
        assert scales.metric_to_analysis(metric, scales.to_metric(metric, y)) == pytest.approx(y)
    lo, hi = scales.range_to_analysis(metric, -math.inf, math.inf)
    assert lo == -math.inf and hi == math.inf


@pytest.mark.parametrize("call", [lambda: scales.to_metric("xyz", 1.0),
                                  lambda: scales.metric_to_analysis("xyz", 1.0),
                                  lambda: scales.interval_to_metric("xyz", 0.0, 1.0)])
def test_unknown_metric_raises(call):
    with pytest.raises(ValueError, match="unknown claim metric 'xyz'"):
        call()


def test_percent_reduction_range_maps_to_log_ratio():
    lo, hi = scales.range_to_analysis("percent_reduction", 60, 100)
    assert lo == -math.inf and hi == pytest.approx(math.log(0.4))


def test_percent_reduction_is_decreasing_so_bounds_swap():
    # log ratio of means -0.5 .. -0.1: 100 (1 - exp(y)) runs from 39.3% down to 9.5%
    lo, hi = scales.interval_to_metric("percent_reduction", -0.5, -0.1)
    assert lo == pytest.approx(100 * (1 - math.exp(-0.1)))
    assert hi == pytest.approx(100 * (1 - math.exp(-0.5)))
    assert lo < hi


def test_ratios_exponentiate_and_missing_values_are_nan():
    assert scales.to_metric("rr", math.log(2.0)) == pytest.approx(2.0)
    assert math.isnan(scales.to_metric("or", math.nan))
    assert math.isnan(scales.to_metric("smd", None))
