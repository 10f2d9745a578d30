"""Per-experiment access: public flag, owner, grants to users or entitlements; admins see everything.

A caller without READ on a private experiment must learn nothing about it, so such lookups end in
NOT_FOUND exactly as for a missing experiment, and list queries never match it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from server.errors import not_found, permission_denied
from server.identity import Caller


class Level(IntEnum):
    NONE = 0
    READ = 1
    EDIT = 2
    MANAGE = 3


def access_level(experiment: Mapping[str, Any], caller: Caller) -> Level:
    if caller.admin or (caller.user_id and experiment.get("owner") == caller.user_id):
        return Level.MANAGE
    entities = caller.entities
    level = max(
        (Level(grant["level"]) for grant in experiment.get("grants") or () if grant["entity"] in entities),
        default=Level.NONE,
    )
    if experiment.get("public"):
        level = max(level, Level.READ)
    return level


def require(experiment: Mapping[str, Any] | None, caller: Caller, needed: Level) -> Level:
    """The caller's level, or the error to give: NOT_FOUND below READ, PERMISSION_DENIED below needed."""
    level = access_level(experiment, caller) if experiment is not None else Level.NONE
    if level < Level.READ:
        raise not_found("experiment")
    if level < needed:
        raise permission_denied(needed.name)
    return level


def readable_query(caller: Caller) -> dict[str, Any]:
    """MongoDB condition matching exactly the experiments the caller may read."""
    if caller.admin:
        return {}
    visible: list[dict[str, Any]] = [{"public": True}]
    if caller.user_id:
        visible += [{"owner": caller.user_id}, {"grants.entity": {"$in": sorted(caller.entities)}}]
    return {"$or": visible}
