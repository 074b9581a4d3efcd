"""The simulator's view of the protocol: the engine's rules, re-exported.

The rules live in :mod:`ticktape.server.protocol` (shared with the replay
server and the hub). See docs/hub.md.
"""

from __future__ import annotations

from ticktape.server.protocol import (
    AUTH_FAILED,
    AUTH_REQUIRED,
    AUTH_SUCCESS,
    AUTH_TIMEOUT,
    CHANNELS,
    CLUSTERS,
    CONNECTED,
    MAX_CONNECTIONS,
    SLOW_CONSUMER,
    STATUS_TAG,
    TAG_OF,
    Action,
    Subscriptions,
    apply_action,
    error,
    frame,
    parse_action,
    split_param,
    tags_of,
    topics_of,
)

__all__ = [
    "AUTH_FAILED",
    "AUTH_REQUIRED",
    "AUTH_SUCCESS",
    "AUTH_TIMEOUT",
    "CHANNELS",
    "CLUSTERS",
    "CONNECTED",
    "MAX_CONNECTIONS",
    "SLOW_CONSUMER",
    "STATUS_TAG",
    "TAG_OF",
    "Action",
    "Subscriptions",
    "apply_action",
    "error",
    "frame",
    "parse_action",
    "split_param",
    "tags_of",
    "topics_of",
]
