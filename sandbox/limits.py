"""Resource limits for one sandboxed run, and the parser for human memory sizes ("512MB")."""

from __future__ import annotations

import re
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """What one run may use. Every limit binds even when the caller is root (see docs/sandbox.md).

    ``memory_bytes`` caps both the address space of each process (RLIMIT_AS) and the resident
    memory of all the run's processes together (a watchdog kills the run past it).
    ``workspace_bytes`` is the size of each of the two tmpfs mounts the script can write:
    /workspace (its working directory) and /tmp. Nothing the script writes reaches the host disk.
    """

    wall_seconds: float = 300
    memory_bytes: int = 512 * MIB
    max_processes: int = 64
    max_file_bytes: int = 64 * MIB
    max_open_files: int = 256
    max_output_bytes: int = 1 * MIB
    network: bool = False
    workspace_bytes: int = 128 * MIB

    def __post_init__(self) -> None:
        if not self.wall_seconds > 0:
            raise ValueError(f"wall_seconds must be positive, got {self.wall_seconds!r}")
        for name in (
            "memory_bytes",
            "max_processes",
            "max_file_bytes",
            "max_open_files",
            "max_output_bytes",
            "workspace_bytes",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


_MEMORY_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")

# Decimal suffixes ("MB") are read as binary too: SCRIPT_EXECUTION_MEMORY_LIMIT=512MB is meant as
# 512 MiB by every operator we know, and memory limits are never set to the byte.
_UNIT_FACTORS: dict[str, int] = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "ki": 1024,
    "kib": 1024,
    "m": MIB,
    "mb": MIB,
    "mi": MIB,
    "mib": MIB,
    "g": 1024 * MIB,
    "gb": 1024 * MIB,
    "gi": 1024 * MIB,
    "gib": 1024 * MIB,
    "t": 1024 * 1024 * MIB,
    "tb": 1024 * 1024 * MIB,
    "ti": 1024 * 1024 * MIB,
    "tib": 1024 * 1024 * MIB,
}


def parse_memory(text: str) -> int:
    """Turn "512MB", "256Mi", "1G", "1.5GiB" or a plain byte count into bytes.

    Suffixes are case-insensitive and binary (1 MB = 1 MiB). Raises ValueError on anything else,
    on zero and on sizes that are not a whole number of bytes (TypeError when not a string).
    """
    if not isinstance(text, str):
        raise TypeError(f"memory size must be a string, got {type(text).__name__}")
    match = _MEMORY_PATTERN.match(text)
    if match is None:
        raise ValueError(f"not a memory size: {text!r} (expected e.g. 512MB, 256Mi, 1G or bytes)")
    number, unit = match.groups()
    factor = _UNIT_FACTORS.get(unit.lower())
    if factor is None:
        raise ValueError(f"unknown memory unit {unit!r} in {text!r} (use B, K, M, G, T, optionally with B or iB)")
    value = float(number) * factor
    if value != int(value):
        raise ValueError(f"memory size {text!r} is not a whole number of bytes")
    if value <= 0:
        raise ValueError(f"memory size must be positive, got {text!r}")
    return int(value)
