"""Operator tools: backup and restore of an installation (DESIGN.md, "ops/").

This package may use roundhouse.db and roundhouse.settings, never platform/ or worker/:
operators run these commands next to a platform that is running, or not running at all.
"""


class OpsError(Exception):
    """An operation that cannot go on; the message is the one sentence shown to the operator."""
