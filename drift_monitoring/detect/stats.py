"""The per-feature tests. Each takes the reference and the current values of one column (missing values
already dropped) and returns (statistic, p_value or None).

Numeric columns:
- ks: two-sample Kolmogorov–Smirnov, two-sided; statistic D, a p-value. Up to 10,000 values a side this is
  scipy.stats.ks_2samp (exact p-value); above, D comes from one merge of the two sorted samples (the same D)
  and the p-value from the Kolmogorov distribution with Stephens' small-sample correction,
  scipy.special.kolmogorov((sqrt(n) + 0.12 + 0.11 / sqrt(n)) * D) with n = n1·n2 / (n1 + n2). ks_2samp's
  own large-sample p-value (scipy.stats.kstwo) takes ~0.1 s per call at these sizes; this one is within 2%
  of it for p >= 1e-5 (the tests check it).
- wasserstein: Wasserstein-1 distance (the area between the two empirical CDFs, what
  scipy.stats.wasserstein_distance computes) divided by the reference's standard deviation (at least 0.001),
  so one threshold fits columns of any scale — Evidently's "normed" variant.
Categorical columns:
- chi2: chi-squared test of homogeneity on the 2 x K table of category counts, reference vs current
  (scipy.stats.chi2_contingency, no Yates correction); categories seen in only one sample count as zero
  in the other.
Both:
- psi: population stability index, sum over bins of (c - r) * ln(c / r) with r, c the reference and current
  shares of a bin; shares below 0.0001 are raised to it so empty bins stay finite.
- jensenshannon: Jensen–Shannon distance (scipy.spatial.distance.jensenshannon, base 2: 0 = same, 1 = disjoint).
Binning for psi and jensenshannon: numeric columns use `bins` (default 10) quantile bins of the reference
(deciles), open at both ends so every current value falls in one; duplicate edges (columns with few distinct
values) merge. Categorical columns use one bin per category seen in either sample.
"""

from __future__ import annotations

import numpy as np

NUMERIC_TESTS = ("ks", "wasserstein", "psi", "jensenshannon")
CATEGORICAL_TESTS = ("chi2", "psi", "jensenshannon")
P_VALUE_TESTS = frozenset({"ks", "chi2"})
# Drift when p_value < threshold (ks, chi2) or statistic >= threshold (the distances).
DEFAULT_THRESHOLDS = {"ks": 0.05, "chi2": 0.05, "wasserstein": 0.1, "psi": 0.1, "jensenshannon": 0.1}
PSI_FLOOR = 1e-4


EXACT_KS = 10_000  # ks_2samp's own limit for an exact p-value


def _cdf_gap(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pooled values in order, and F_ref - F_cur just after each of them."""
    n1, n2 = len(reference), len(current)
    pooled = np.concatenate([np.sort(reference), np.sort(current)])
    order = np.argsort(pooled, kind="stable")  # two sorted runs: a merge
    values = pooled[order]
    gap = np.cumsum(np.where(order < n1, 1.0 / n1, -1.0 / n2))
    return values, gap


def ks(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    from scipy import special, stats

    n1, n2 = len(reference), len(current)
    if max(n1, n2) <= EXACT_KS:
        result = stats.ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    values, gap = _cdf_gap(reference, current)
    ends = np.append(values[1:] != values[:-1], True)  # the CDFs only differ after the last of equal values
    d = float(np.abs(gap[ends]).max())
    root = np.sqrt(n1 * n2 / (n1 + n2))
    return d, float(np.clip(special.kolmogorov((root + 0.12 + 0.11 / root) * d), 0, 1))


def wasserstein(reference: np.ndarray, current: np.ndarray) -> tuple[float, None]:
    values, gap = _cdf_gap(reference, current)
    distance = float(np.sum(np.abs(gap[:-1]) * np.diff(values)))
    return distance / max(float(np.std(reference)), 0.001), None


def counts(reference: np.ndarray, current: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The two samples' counts per bin, as documented above."""
    if reference.dtype.kind == "f":
        inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
        return (np.bincount(np.searchsorted(inner, reference, side="right"), minlength=len(inner) + 1),
                np.bincount(np.searchsorted(inner, current, side="right"), minlength=len(inner) + 1))
    categories, codes = np.unique(np.concatenate([reference, current]), return_inverse=True)
    return (np.bincount(codes[: len(reference)], minlength=len(categories)),
            np.bincount(codes[len(reference):], minlength=len(categories)))


def chi2(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    table = np.vstack(counts(reference, current, 0))
    if table.shape[1] < 2:  # one category in both: nothing can have moved
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> tuple[float, None]:
    ref, cur = counts(reference, current, bins)
    r = np.maximum(ref / ref.sum(), PSI_FLOOR)
    c = np.maximum(cur / cur.sum(), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r))), None


def jensenshannon(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> tuple[float, None]:
    from scipy.spatial import distance

    ref, cur = counts(reference, current, bins)
    return float(distance.jensenshannon(ref, cur, base=2)), None


def run(test: str, reference: np.ndarray, current: np.ndarray, bins: int) -> tuple[float, float | None]:
    if test in ("psi", "jensenshannon"):
        return psi(reference, current, bins) if test == "psi" else jensenshannon(reference, current, bins)
    return {"ks": ks, "wasserstein": wasserstein, "chi2": chi2}[test](reference, current)
