"""Columns out of whatever the user holds: a 2-D numpy array (with names), a mapping of names to 1-D arrays,
a pandas or a polars DataFrame. One column is converted at a time, so memory stays proportional to one
column; pandas and polars are never imported here (a frame's own methods are used)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

NUMERIC = "numeric"
CATEGORICAL = "categorical"


def _kind(data: Any) -> str:
    module = type(data).__module__.split(".")[0]
    if module in ("pandas", "polars") and hasattr(data, "columns"):
        return module
    if isinstance(data, np.ndarray):
        if data.ndim != 2:
            raise ValueError(f"a numpy array of samples must be 2-D (rows x features), not {data.ndim}-D")
        return "numpy"
    if isinstance(data, Mapping):
        return "mapping"
    raise TypeError(
        f"drift_monitoring.detect takes a 2-D numpy array, a mapping of column names to 1-D arrays, or a pandas or "
        f"polars DataFrame; not {type(data).__module__}.{type(data).__qualname__}"
    )


def names(data: Any, columns: Sequence[str] | None) -> list[str]:
    """The feature names: `columns` when given (required for unnamed numpy arrays, a subset otherwise)."""
    kind = _kind(data)
    if kind == "numpy":
        if columns is None:
            return [f"x{i}" for i in range(data.shape[1])]
        if len(columns) != data.shape[1]:
            raise ValueError(f"columns names {len(columns)} features but the array has {data.shape[1]}")
        return list(columns)
    available = [str(name) for name in data.columns] if kind != "mapping" else [str(name) for name in data]
    if columns is None:
        return available
    missing = [name for name in columns if name not in available]
    if missing:
        raise KeyError(f"columns not in the data: {missing}")
    return list(columns)


def rows(data: Any) -> int:
    kind = _kind(data)
    if kind == "mapping":
        return max((len(column) for column in data.values()), default=0)
    return int(data.shape[0])


def column(data: Any, position: int, name: str) -> tuple[np.ndarray, str]:
    """One column as a numpy array without its missing values, and its inferred type.

    Numeric: integer and float dtypes (missing = NaN / null). Categorical: everything else (strings,
    pandas categories, booleans, objects; missing = None, NaN, pandas NA, polars null)."""
    kind = _kind(data)
    if kind == "polars":
        series = data.get_column(name)
        numeric = series.dtype.is_numeric()
        series = series.drop_nulls()
        if series.dtype.is_float():
            series = series.drop_nans()
        values = series.to_numpy()
        return (values.astype(np.float64, copy=False), NUMERIC) if numeric else (values.astype(str), CATEGORICAL)
    if kind == "pandas":
        series = data[name]
        numeric = series.dtype.kind in "iuf" and str(series.dtype) != "category"
        series = series.dropna()
        if numeric:
            return series.to_numpy(dtype=np.float64), NUMERIC
        return series.astype(str).to_numpy(), CATEGORICAL
    # A contiguous copy of one column: a strided view of a row-major array makes every pass a cache miss.
    values = np.ascontiguousarray(data[:, position] if kind == "numpy" else data[name])
    if values.dtype.kind in "iuf":
        values = values.astype(np.float64, copy=False)
        return values[~np.isnan(values)], NUMERIC
    if values.dtype.kind in "US":
        return values.astype(str), CATEGORICAL
    present = np.array([not (value is None or (isinstance(value, float) and value != value)) for value in values.tolist()], dtype=bool)
    values = values[present]
    # A numeric column that came as objects (e.g. it had None in it) is still numeric.
    try:
        return values.astype(np.float64), NUMERIC
    except (TypeError, ValueError):
        return values.astype(str), CATEGORICAL


def iter_columns(data: Any, feature_names: list[str]) -> Iterator[tuple[str, np.ndarray, str]]:
    for position, name in enumerate(feature_names):
        values, inferred = column(data, position, name)
        yield name, values, inferred


def as_type(values: np.ndarray, inferred: str, wanted: str) -> np.ndarray:
    """The column under the type the user asked for: numeric→categorical compares the values as labels;
    categorical→numeric must parse as numbers."""
    if wanted == inferred:
        return values
    if wanted == CATEGORICAL:
        # Integer codes stored as floats (a pandas int column with NaN) keep their integer labels: 3, not 3.0.
        if values.dtype.kind == "f" and np.all(np.floor(values) == values):
            return values.astype(np.int64).astype(str)
        return values.astype(str)
    if wanted == NUMERIC:
        try:
            return values.astype(np.float64)
        except ValueError as exc:
            raise ValueError(f"a column typed numeric has values that are not numbers ({exc})") from exc
    raise ValueError(f"a column type is 'numeric' or 'categorical', not {wanted!r}")
