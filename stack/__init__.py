"""The real services the product runs on, as objects: tests, benchmarks and scripts start them from here.

Each service starts on a free port (or a given one), waits until it is healthy, keeps its log in its
directory, and can be SIGKILLed and restarted on the same port (`Service`). `Stack` composes the database,
the server, the sandbox issuer and Envoy with TLS, all of one caller's own, so concurrent test sessions,
benchmarks and a `make up` stack never share or stop each other's processes.
"""

from stack.service import ROOT, Service, free_port, wait_until
from stack.database import FerretDB
from stack.server import ADMIN_ENTITLEMENT, SECRET, Server
from stack.issuer import AUDIENCE, Issuer
from stack.envoy import Envoy
from stack.compose import Stack

__all__ = ["ADMIN_ENTITLEMENT", "AUDIENCE", "ROOT", "SECRET", "Envoy", "FerretDB", "Issuer", "Server", "Service", "Stack",
           "free_port", "wait_until"]
