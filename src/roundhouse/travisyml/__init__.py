"""The pure `.travis.yml` engine: load, normalise, expand the matrix, assign stages.

No I/O: the caller passes the YAML text, the request data and (for imports) a fetch function.
"""

from __future__ import annotations

from .build import build_from_config, build_matrix
from .load import load
from .messages import Message
from .outcome import BuildOutcome, JobState, build_result
from .result import MatrixJob, MatrixResult

__all__ = [
    "BuildOutcome",
    "JobState",
    "MatrixJob",
    "MatrixResult",
    "Message",
    "build_from_config",
    "build_matrix",
    "build_result",
    "load",
]
