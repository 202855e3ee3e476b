"""Job config → bash script: phases, folds, timing, languages, checkout (DESIGN.md, "script/").

The worker and the platform call `compile_script(payload)`; `secret_values` fills a payload's
`secrets`, and `local_payload` builds a payload for `roundhouse compile` / `run-local`.
"""

from roundhouse.script.compiler import compile_script
from roundhouse.script.local import local_payload
from roundhouse.script.secrets import secret_values

__all__ = ["compile_script", "local_payload", "secret_values"]
