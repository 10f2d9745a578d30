"""Small shared helpers of the adapters: plain floats out of numpy or pandas scalars, and option checks."""

from __future__ import annotations

import math
from typing import Any


def number(value: Any) -> float | None:
    """A finite float, or None for missing / NaN / infinite values (what FeatureResult can store)."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def flag(value: Any) -> bool:
    return bool(value) if value is not None and not (isinstance(value, float) and math.isnan(value)) else False


def names(feature_names: Any, count: int, library: str) -> list[str]:
    """The user's feature names, or x0, x1, ... when none are given; their count must match."""
    if feature_names is None:
        return [f"x{i}" for i in range(count)]
    feature_names = [str(name) for name in feature_names]
    if len(feature_names) != count:
        raise ValueError(f"feature_names has {len(feature_names)} names but the {library} result has {count} features")
    return feature_names
