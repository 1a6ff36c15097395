"""Execution sandboxes, free of Django (the agent SDK imports this package on plain hosts).

The local sandbox runs one bash or python script under bubblewrap with binding limits:
:func:`run_in_sandbox`. See docs/sandbox.md for what is isolated and how each limit binds.
"""

from sandbox.limits import SandboxLimits, parse_memory
from sandbox.local import SandboxResult, SandboxUnavailable, run_in_sandbox

__all__ = [
    "SandboxLimits",
    "SandboxResult",
    "SandboxUnavailable",
    "parse_memory",
    "run_in_sandbox",
]
