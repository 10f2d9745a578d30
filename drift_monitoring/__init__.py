"""Drift Monitoring client: record the runs of drift-detection jobs on a Drift Monitoring server.

    from drift_monitoring import DriftMonitor

    with DriftMonitor("my-experiment", "model-1") as monitor:
        monitor.concept(detected, parameters)
        monitor.data(detected, parameters)

Settings come from the environment (DRIFT_MONITOR_URL, DRIFT_MONITOR_TOKEN or DRIFT_MONITOR_MYTOKEN with
MYTOKEN_SERVER, DRIFT_MONITOR_CA_BUNDLE, DRIFT_MONITOR_TIMEOUT) or keyword arguments. Importing this
package reads nothing and opens no connection. The generated API stubs live in `drift_monitoring.v1`.
"""

from drift_monitoring.client import Client
from drift_monitoring.errors import (
    AlreadyExistsError,
    AuthenticationError,
    ConfigurationError,
    DriftMonitorError,
    InvalidArgumentError,
    NotFoundError,
    NotRegisteredError,
    OutOfRangeError,
    PermissionDeniedError,
    UnavailableError,
)
from drift_monitoring.helpers import find_experiment, new_experiment, register
from drift_monitoring.monitor import DriftMonitor, flush
from drift_monitoring.offline import sync
from drift_monitoring.settings import Settings

__version__ = "2.0.0.dev0"


def __getattr__(name: str) -> object:
    # The original README printed `from drift_monitoring import DriftMonitoring` and then used
    # `DriftMonitor`, so people copied a name that never existed. An alias would let the import pass and
    # the next line fail on DriftMonitor; an ImportError that names the class fixes both lines at once.
    # (An AttributeError here would be replaced by the generic "cannot import name" message.)
    if name == "DriftMonitoring":
        raise ImportError(
            "drift_monitoring has no DriftMonitoring: the class is DriftMonitor, as in "
            "`from drift_monitoring import DriftMonitor` (the original README misspelled the import)",
            name=__name__,
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
    "DriftMonitor",
    "DriftMonitorError",
    "InvalidArgumentError",
    "NotFoundError",
    "NotRegisteredError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "Settings",
    "UnavailableError",
    "find_experiment",
    "flush",
    "new_experiment",
    "register",
    "sync",
]
