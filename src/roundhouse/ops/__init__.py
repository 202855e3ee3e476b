"""Operator tools: backup and restore of an installation, and `roundhouse doctor`
(DESIGN.md, "ops/").

Backup and restore use roundhouse.db and roundhouse.settings, never platform/ or worker/:
operators run them next to a platform that is running, or not running at all. The doctor's
worker checks (doctor/worker_side.py) probe the backend with worker/'s own code, and its
platform checks never load worker/.
"""


class OpsError(Exception):
    """An operation that cannot go on; the message is the one sentence shown to the operator."""
