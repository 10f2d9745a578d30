"""What the one stored schema costs on the write path (issue 17.3): a drift document inserted into FerretDB
three ways, side by side in one run and one database:

- raw: PyMongo insert_one of the dict (what the server did before),
- conform: models.conform(Drift, doc) and then the same insert_one (what the server does now),
- document: a MongoEngine Drift built from the dict and .save()d (what "writes go through the documents" costs),

plus conform() alone in-process, without the database.

    python -m bench.schema [--writes 500]

Writes bench/results/schema.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import mongoengine
from bson import ObjectId

from bench.common import latency, save
from server.models import Drift, conform
from stack.database import FerretDB


def drift_doc(rng: random.Random, experiment: ObjectId, index: int) -> dict[str, Any]:
    """A drift as the server stores it: two results of 20 parameters and 10 features each."""
    moment = dt.datetime.now(dt.UTC)

    def result() -> dict[str, Any]:
        return {
            "detected": rng.random() < 0.3,
            "parameters": {f"param_{i}": rng.random() for i in range(20)},
            "features": [
                {"feature": f"f{i}", "test": "ks", "statistic": rng.random(), "p_value": rng.random(), "threshold": 0.05, "detected": False}
                for i in range(10)
            ],
        }

    return {
        "_id": ObjectId(), "experiment": experiment, "request_id": f"r{index}", "model": f"model-{index % 5}",
        "status": "COMPLETED", "tags": ["bench"], "concept_drift": result(), "data_drift": result(), "result": None,
        "error_message": "", "creator": "bench", "create_time": moment, "start_time": moment, "end_time": moment,
        "update_time": moment, "ordinal": index, "bucket": index // 100,
    }


def timed(action, docs: list[dict[str, Any]]) -> list[float]:
    out = []
    for doc in docs:
        start = time.perf_counter()
        action(doc)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(17)
    with tempfile.TemporaryDirectory() as directory:
        database = FerretDB(Path(directory), private=True)
        try:
            mongoengine.connect(host=database.database_uri("dm_bench_schema"), tz_aware=True, uuidRepresentation="standard")
            collection = Drift._get_collection()
            experiment = ObjectId()
            make = lambda: [drift_doc(rng, experiment, i) for i in range(args.writes)]  # noqa: E731
            in_process = timed(lambda doc: conform(Drift, doc), make())
            ways = {
                "raw": timed(collection.insert_one, make()),
                "conform": timed(lambda doc: (conform(Drift, doc), collection.insert_one(doc)), make()),
                "document": timed(lambda doc: Drift._from_son(doc).save(force_insert=True), make()),
            }
        finally:
            mongoengine.disconnect()
            database.stop()
    result = {"writes": args.writes, "conform_only": latency(in_process), **{name: latency(values) for name, values in ways.items()}}
    print(f"conform alone: p50 {result['conform_only']['p50_ms']} ms")
    for name in ways:
        print(f"{name:>9}: p50 {result[name]['p50_ms']} ms  p99 {result[name]['p99_ms']} ms")
    print(save("schema", result))


if __name__ == "__main__":
    main()
