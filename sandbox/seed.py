"""`python -m sandbox.seed [--target HOST:PORT]`: load the sandbox experiments and drifts through the API.

Idempotent: experiments are looked up by name and drifts carry fixed request_ids, so running it
again changes nothing. The data imitates real jobs: KS tests per feature for data drift, KL
divergence or Wasserstein distance for concept drift, and a few failed runs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf import timestamp_pb2

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc, user_pb2, user_pb2_grpc
from sandbox import personas

FEATURES = ("age", "income", "balance", "tenure", "num_products", "credit_score")
READ, EDIT = experiment_pb2.ACCESS_LEVEL_READ, experiment_pb2.ACCESS_LEVEL_EDIT
GROUP = "urn:drift-monitoring:group:ml-team"
# The last run of every experiment starts here; the others go back in time one cadence each, so runs
# spread over weeks (the server sets create_time itself: all seeded runs share one).
LAST_RUN = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
# name: (owner, public, description, model, runs, cadence, concept test, grants as (persona or entitlement, level))
EXPERIMENTS = {
    "credit-scoring": ("manager", False, "Daily drift checks of the credit scoring model.", "xgb-credit-v3", 30, timedelta(days=1),
                       "kl_divergence", (("editor", EDIT), ("reader", READ))),
    "fraud-detection": ("manager", True, "Public demo: fraud model monitoring twice a day.", "isolation-forest-v7", 24, timedelta(hours=12),
                        "wasserstein", ()),
    "churn-prediction": ("editor", False, "Weekly churn model checks, shared with the ML team.", "lgbm-churn-v2", 15, timedelta(weeks=1),
                         "kl_divergence", ((GROUP, READ),)),
    "outsider-sandbox": ("outsider", False, "Someone else's private experiment.", "rf-v1", 5, timedelta(days=3), "wasserstein", ()),
}


def _stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _drift(rng: random.Random, model: str, concept_test: str, index: int, runs: int, cadence: timedelta) -> drift_pb2.Drift:
    started = LAST_RUN - cadence * (runs - 1 - index) + timedelta(minutes=rng.randint(0, 20))  # cron jobs start a little late
    shift = index / runs  # drift grows over time, so charts show a trend
    features = []
    for feature in FEATURES:
        statistic = min(1.0, abs(rng.gauss(0.05 + 0.25 * shift, 0.05)))
        p_value = max(0.0, min(1.0, rng.betavariate(1 + 6 * (1 - shift), 1 + 6 * shift)))
        features.append(drift_pb2.FeatureResult(feature=feature, test="ks", statistic=round(statistic, 4),
                                                p_value=round(p_value, 4), threshold=0.05, detected=p_value < 0.05))
    data_detected = any(f.detected for f in features)
    concept_value = round(abs(rng.gauss(0.04 + 0.2 * shift, 0.03)), 4)
    concept_threshold = 0.1
    drift = drift_pb2.Drift(
        model=model,
        tags=["sandbox", "nightly" if index % 2 else "weekly"],
        start_time=_stamp(started),
        end_time=_stamp(started + timedelta(minutes=rng.randint(2, 40))),
    )
    if index % 11 == 7:
        drift.status = drift_pb2.DRIFT_STATUS_FAILED
        drift.error_message = "ValueError: reference window has 0 rows for feature 'income'"
        return drift
    drift.status = drift_pb2.DRIFT_STATUS_COMPLETED
    drift.data_drift.detected = data_detected
    drift.data_drift.parameters.update({"test": "ks", "threshold": 0.05, "n_reference": 5000, "n_current": rng.randint(800, 1200),
                                        "drifted_features": sum(f.detected for f in features)})
    drift.data_drift.features.extend(features)
    drift.concept_drift.detected = concept_value > concept_threshold
    drift.concept_drift.parameters.update({"test": concept_test, concept_test: concept_value, "threshold": concept_threshold,
                                           "window": {"size": 1000, "step": 250}})
    return drift


def seed(target: str, *, issuer: str = personas.ISSUER, secret: str | None = None) -> None:
    """Load the data straight into the server at target, as the personas of issuer (the users that issuer's
    tokens sign in as), with the gateway secret the server is configured with."""
    secret = secret or personas.proxy_secret()
    channel = grpc.insecure_channel(target)
    users = user_pb2_grpc.UserServiceStub(channel)
    experiments = experiment_pb2_grpc.ExperimentServiceStub(channel)
    drifts = drift_pb2_grpc.DriftServiceStub(channel)
    meta = {name: personas.gateway_metadata(secret, personas.claims(name, issuer=issuer)) for name in personas.NAMES}
    ids = {name: users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=meta[name]).id
           for name in personas.NAMES}
    rng = random.Random(42)
    for name, (owner, public, description, model, runs, cadence, concept_test, grants) in EXPERIMENTS.items():
        experiment = experiment_pb2.Experiment(
            name=name, description=description, public=public,
            grants=[experiment_pb2.Grant(entity=ids.get(entity, entity), level=level) for entity, level in grants],
        )
        try:
            stored = experiments.CreateExperiment(experiment_pb2.CreateExperimentRequest(experiment=experiment), metadata=meta[owner])
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
            found = experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(filter=f'name = "{name}"'), metadata=meta["admin"])
            stored = found.experiments[0]
        requests = [
            drift_pb2.CreateDriftRequest(drift=_drift(rng, model, concept_test, index, runs, cadence), request_id=f"seed-{name}-{index}")
            for index in range(runs)
        ]
        drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=stored.id, requests=requests), metadata=meta[owner])
        print(f"seeded {name}: {runs} drifts ({'public' if public else 'private'}, owner {owner})")
    channel.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default=os.environ.get("DRIFT_MONITOR_LISTEN", "127.0.0.1:50051"))
    parser.add_argument("--issuer", default=personas.ISSUER, help="the issuer whose personas own the data (default: %(default)s)")
    args = parser.parse_args()
    # The server's own setting when set (make run exports it), else the sandbox secret file.
    seed(args.target, issuer=args.issuer, secret=os.environ.get("DRIFT_MONITOR_PROXY_SECRET"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
