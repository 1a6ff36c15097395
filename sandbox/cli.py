"""`sandbox_run`: run one script file in the local sandbox, as an execution would (no Django)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from sandbox.limits import SandboxLimits, parse_memory
from sandbox.local import SandboxResult, SandboxUnavailable, run_in_sandbox

EXIT_USAGE = 2

#: The result keys the command contract promises, in the order they are printed.
CONTRACT_KEYS = ("exit_code", "timed_out", "killed_reason", "stdout", "stderr", "duration_ms", "peak_memory_kb")


class _UsageError(Exception):
    pass


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse exits 2 by itself too; raising keeps main() a plain function callers can test.
        self.print_usage(sys.stderr)
        raise _UsageError(f"{self.prog}: error: {message}")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"timeout must be positive, got {text!r}")
    return value


def _memory(text: str) -> int:
    try:
        return parse_memory(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _defaults_from_environment() -> tuple[float, int]:
    """MAX_SCRIPT_EXECUTION_TIME and SCRIPT_EXECUTION_MEMORY_LIMIT, the product's setting names."""
    defaults = SandboxLimits()
    seconds = _positive_seconds(os.environ.get("MAX_SCRIPT_EXECUTION_TIME") or str(defaults.wall_seconds))
    memory = parse_memory(os.environ.get("SCRIPT_EXECUTION_MEMORY_LIMIT") or str(defaults.memory_bytes))
    return seconds, memory


def build_parser(prog: str = "sandbox_run") -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog=prog, description="Run one bash or python script in the local sandbox.")
    parser.add_argument("path", metavar="PATH", help="the script file")
    parser.add_argument("--language", required=True, choices=["bash", "python"])
    parser.add_argument("--timeout", type=_positive_seconds, help="wall-clock seconds (default 300)")
    parser.add_argument("--memory", type=_memory, help="memory limit, e.g. 256MB (default 512MB)")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    return parser


def _print_text(result: SandboxResult) -> None:
    sys.stdout.write(result.stdout)
    if result.stdout and not result.stdout.endswith("\n"):
        sys.stdout.write("\n")
    sys.stderr.write(result.stderr)
    summary = f"exit {result.exit_code} in {result.duration_ms:.0f} ms, peak memory {result.peak_memory_kb} KiB"
    if result.killed_reason:
        summary += f", killed: {result.killed_reason}"
    if result.stdout_truncated or result.stderr_truncated:
        summary += ", output truncated"
    print(f"[sandbox] {summary}", file=sys.stderr)


def main(argv: Sequence[str], prog: str = "sandbox_run") -> int:
    """Exit code: the script's own, 124 when killed for time, 137 for memory or a signal, 2 for usage."""
    try:
        options = build_parser(prog).parse_args(list(argv))
        env_seconds, env_memory = _defaults_from_environment()
    except SystemExit as exit_request:  # --help
        return int(exit_request.code or 0)
    except _UsageError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    except (argparse.ArgumentTypeError, ValueError) as error:
        print(f"{prog}: error: bad setting in the environment: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with open(options.path, encoding="utf-8") as script_file:
            script = script_file.read()
    except (OSError, UnicodeDecodeError) as error:
        print(f"{prog}: error: cannot read {options.path}: {error}", file=sys.stderr)
        return EXIT_USAGE
    limits = SandboxLimits(
        wall_seconds=options.timeout or env_seconds,
        memory_bytes=options.memory or env_memory,
    )
    try:
        result = run_in_sandbox(script, language=options.language, limits=limits)
    except SandboxUnavailable as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    if options.format == "json":
        payload = result.as_dict()
        ordered = {key: payload[key] for key in CONTRACT_KEYS} | payload
        print(json.dumps(ordered))
    else:
        _print_text(result)
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
