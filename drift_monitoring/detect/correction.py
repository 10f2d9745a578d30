"""Multiple-testing correction: with many features, some p-values fall below 0.05 by chance alone.
Each function returns, for the given p-values, the cut-off they are compared with (detected ⇔ p <= cut-off),
so the threshold recorded with each feature is the one that decided it."""

from __future__ import annotations

import numpy as np

CORRECTIONS = ("bonferroni", "bh", "none")


def cutoff(p_values: np.ndarray, alpha: np.ndarray, method: str) -> np.ndarray:
    """Per-test cut-offs. alpha holds each test's level (tests of different kinds may have different ones).

    bonferroni: alpha / m (controls the chance of any false alarm). bh: Benjamini–Hochberg at false
    discovery rate alpha: with p sorted ascending, k is the largest i with p_(i) <= i·alpha/m, and the cut-off
    is k·alpha/m (alpha/m when there is no such i, where no test is rejected). none: alpha itself."""
    m = len(p_values)
    if method == "none" or m == 0:
        return alpha.astype(float)
    if method == "bonferroni":
        return alpha / m
    if method == "bh":
        order = np.argsort(p_values, kind="stable")
        ranks = np.arange(1, m + 1)
        passing = np.nonzero(p_values[order] <= ranks * alpha[order] / m)[0]
        k = passing[-1] + 1 if len(passing) else 1
        return alpha * k / m
    raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, not {method!r}")
