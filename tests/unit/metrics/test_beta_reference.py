"""memkb.metrics.beta gives, bit for bit, what its earlier (slower) code gave: the
reference below is that code, frozen (the commit that sped up _betacf and shared the
quantile search's lgamma terms). Every interval of every report stays the same."""

from __future__ import annotations

import math

import pytest

from memkb.metrics.beta import _beta_guess, beta_cdf, beta_quantile


# ----------------------------------------------------------- the frozen reference code
# fmt: off
def _ref_betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        for num in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def ref_beta_cdf(x: float, a: float, b: float) -> float:
    """Regularized incomplete beta I_x(a, b): P(X <= x) for X ~ Beta(a, b), a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _ref_betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _ref_betacf(b, a, 1.0 - x) / b


def ref_beta_quantile(p: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = p; a, b >= 0. Raise ValueError for Beta(0, 0).

    Halley steps from an approximation good to 2-3 digits, kept inside a bisection
    bracket so a bad step can never leave (0, 1): two or three CDF evaluations instead
    of ~40 for pure bisection, which matters with thousands of patterns. A zero parameter is a point
    mass: Beta(0, b) sits at 0 and Beta(a, 0) at 1.
    """
    if a <= 0.0 and b <= 0.0:
        raise ValueError("Beta(0, 0) has no quantiles")
    if a <= 0.0:
        return 0.0
    if b <= 0.0:
        return 1.0
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    x = min(max(_beta_guess(p, a, b), 1e-9), 1.0 - 1e-9)
    lo, hi = 0.0, 1.0
    for _ in range(200):
        f = ref_beta_cdf(x, a, b) - p
        if f == 0.0:
            return x
        if f < 0.0:
            lo = x
        else:
            hi = x
        density = math.exp((a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x) - log_beta)
        step = -1.0
        if density > 0.0:  # Halley's step: Newton's, corrected by the density's slope
            t = f / density
            bend = 1.0 - 0.5 * t * ((a - 1.0) / x - (b - 1.0) / (1.0 - x))
            step = x - (t / bend if bend > 0.5 else t)
        # Cubic convergence: after a step this small the error is far below it
        # (relative, so quantiles very near 0 or 1 keep their precision).
        if abs(step - x) < 1e-7 * min(x, 1.0 - x):
            return step
        x = step if lo < step < hi else (lo + hi) / 2.0
        if hi - lo < 1e-15:
            return x
    return x
# fmt: on
# ---------------------------------------------------------------------------- the tests

PARAMS = [0.01, 0.3, 0.5, 1.0, 1.5, 2.1, 3.0, 7.3, 11.9, 25.0, 60.5, 150.0, 400.0, 2500.0]
PROBS = [1e-6, 0.001, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999]
XS = [-0.1, 0.0, 1e-9, 0.001, 0.05, 0.2, 0.5, 0.8, 0.95, 0.999, 1.0, 1.5]


@pytest.mark.parametrize("a", PARAMS)
def test_quantiles_are_the_reference_bit_for_bit(a: float) -> None:
    for b in PARAMS:
        for p in PROBS:
            got, want = beta_quantile(p, a, b), ref_beta_quantile(p, a, b)
            assert got == want or (math.isnan(got) and math.isnan(want)), (p, a, b)


@pytest.mark.parametrize("a", PARAMS)
def test_cdf_is_the_reference_bit_for_bit(a: float) -> None:
    for b in PARAMS:
        for x in XS:
            assert beta_cdf(x, a, b) == ref_beta_cdf(x, a, b), (x, a, b)


def test_point_masses_and_the_refusal_are_unchanged() -> None:
    assert beta_quantile(0.3, 0, 5) == ref_beta_quantile(0.3, 0, 5) == 0.0
    assert beta_quantile(0.3, 5, 0) == ref_beta_quantile(0.3, 5, 0) == 1.0
    with pytest.raises(ValueError):
        beta_quantile(0.5, 0, 0)
