"""NannyML: a univariate drift `Result` (UnivariateDriftCalculator.calculate), one row per chunk with, per
column and method, value, upper_threshold, lower_threshold and alert.

`monitor.data(result)` records the latest analysis chunk (chunk=-1; any index or chunk key); for one run
per chunk, `verdicts(result)` gives (chunk key, Verdict) pairs to record in a loop. Read through the
Result's own `filter` and `to_df`, so NannyML is never imported here."""

from __future__ import annotations

from typing import Any

from drift_monitoring.integrations._rows import flag, number
from drift_monitoring.integrations.verdict import Verdict

ACCEPTS = "a NannyML univariate drift Result (chunk= an index or a chunk key)"



def _table(result: Any) -> Any:
    if not hasattr(result, "column_names") or "univariate" not in type(result).__module__:
        raise TypeError(f"cannot record a {type(result).__module__}.{type(result).__qualname__}: the NannyML adapter takes {ACCEPTS}")
    frame = result.filter(period="analysis").to_df()
    if frame.empty:
        raise ValueError("the NannyML Result has no analysis chunk")
    return frame


def _verdict(frame: Any, position: int) -> tuple[str, Verdict]:
    row = frame.iloc[position]
    rows = []
    for column, method in dict.fromkeys((c[0], c[1]) for c in frame.columns if c[0] != "chunk"):
        upper, lower = number(row[(column, method, "upper_threshold")]), number(row[(column, method, "lower_threshold")])
        rows.append({"feature": column, "test": method, "statistic": number(row[(column, method, "value")]),
                     "threshold": upper if upper is not None else lower, "detected": flag(row[(column, method, "alert")])})
    key = str(row[("chunk", "chunk", "key")])
    drifted = sum(r["detected"] for r in rows)
    parameters = {"detector": "nannyml.UnivariateDriftCalculator", "chunk": key, "chunk_index": int(row[("chunk", "chunk", "chunk_index")]),
                  "tests": sorted({r["test"] for r in rows}), "features": len(rows), "drifted_features": drifted,
                  "share_drifted": drifted / len(rows) if rows else 0.0}
    for bound in ("start_date", "end_date"):
        if ("chunk", "chunk", bound) in frame.columns and row[("chunk", "chunk", bound)] is not None:
            parameters[bound] = str(row[("chunk", "chunk", bound)])
    return key, Verdict(detected=drifted > 0, parameters=parameters, features=rows)


def verdict(result: Any, *, chunk: int | str = -1) -> Verdict:
    frame = _table(result)
    if isinstance(chunk, str):
        keys = [str(key) for key in frame[("chunk", "chunk", "key")]]
        if chunk not in keys:
            raise KeyError(f"no analysis chunk {chunk!r}; chunks are {keys}")
        chunk = keys.index(chunk)
    if not -len(frame) <= chunk < len(frame):
        raise IndexError(f"chunk {chunk} out of range: the Result has {len(frame)} analysis chunks")
    return _verdict(frame, chunk)[1]


def verdicts(result: Any) -> list[tuple[str, Verdict]]:
    """Every analysis chunk, oldest first: record one run per chunk."""
    frame = _table(result)
    return [_verdict(frame, position) for position in range(len(frame))]
