"""`roundhouse doctor`: every way a Roundhouse installation silently stops running builds,
checked, each with what was seen and the fix (docs/operations.md, "roundhouse doctor").

Platform checks: platform_side.run_platform_checks; worker checks: worker_side (which loads
worker code, so it is imported only where a worker is checked).
"""

from roundhouse.ops.doctor.check import Check, failed, render

__all__ = ["Check", "failed", "render"]
