"""App-wide messages (posted from worker threads: post_message is thread-safe)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class ConnectionChanged(Message):
    state: str


@dataclass
class UserKnown(Message):
    name: str
