"""Reliability tests run on stacks of their own (stack.Stack with a private database): they kill processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stack import Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, ca_pem: Path) -> Iterator[Stack]:
    own = Stack(tmp_path_factory.mktemp("reliability"), ca_pem=ca_pem, private_database=True)
    yield own
    own.stop()


@pytest.fixture
def healthy(stack: Stack) -> Iterator[Stack]:
    """The module's stack, brought back to life after the test whatever it killed."""
    yield stack
    stack.heal()
