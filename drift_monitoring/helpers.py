"""One-call helpers for scripts and notebooks: each opens a Client from the environment, calls, closes.

    import drift_monitoring as dm
    dm.register(accept_terms=True)
    dm.new_experiment("credit-scoring", "weekly drift of the credit model")

Keyword arguments are Client settings (url=, token=, ca_bundle=, ...), as for DriftMonitor.
"""

from __future__ import annotations

from typing import Any

from drift_monitoring.client import Client
from drift_monitoring.v1 import experiment_pb2, user_pb2


def register(accept_terms: bool = True, **settings: Any) -> user_pb2.User:
    """Register the signed-in user (needed once before recording runs); registering accepts the terms of use."""
    with Client(**settings) as client:
        return client.register(accept_terms)


def new_experiment(name: str, description: str = "", *, public: bool = False, grants: Any = (), **settings: Any) -> experiment_pb2.Experiment:
    """Create an experiment; you get MANAGE on it. grants: (entity, "read"|"edit"|"manage") pairs."""
    with Client(**settings) as client:
        return client.new_experiment(name, description, public=public, grants=grants)


def find_experiment(name: str, **settings: Any) -> experiment_pb2.Experiment:
    """The experiment with this name that you can see; NotFoundError otherwise."""
    with Client(**settings) as client:
        return client.find_experiment(name)


__all__ = ["find_experiment", "new_experiment", "register"]
