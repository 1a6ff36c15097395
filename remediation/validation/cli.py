"""``validate_script`` as a Django-free command line (manage.py and the agent SDK both call it).

Exit 0 when every status is PASSED, 1 when any is FAILED, 2 for a usage error or an unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from remediation.validation.engine import validate_script
from remediation.validation.types import DEFAULT_TARGET, Language, Strictness, TargetSystem, ValidationContext

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Validate remediation scripts with real parsers and safety rules.")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("--language", required=True, choices=[lang.value for lang in Language])
    parser.add_argument("--target-system", choices=[t.value for t in TargetSystem])
    parser.add_argument("--service", default="")
    parser.add_argument("--strictness", type=str.upper, choices=[s.value for s in Strictness])
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--current-config", metavar="FILE", help="current text of the file a config patch applies to")
    return parser


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, "rb") as handle:
        data = handle.read()
    # Undecodable bytes become U+FFFD, so binary junk is reported by the validators, not by a traceback.
    return data.decode("utf-8", errors="replace")


def main(
    argv: Sequence[str],
    *,
    prog: str = "validate_script",
    default_strictness: str = "HIGH",
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser(prog).parse_args(list(argv))
    except _UsageError as exc:
        print(f"{prog}: error: {exc}", file=err)
        return EXIT_USAGE
    language = Language(args.language)
    current_config = None
    try:
        texts = [_read(path) for path in args.paths]
        if args.current_config:
            current_config = _read(args.current_config)
    except OSError as exc:
        print(f"{prog}: error: cannot read {exc.filename}: {exc.strerror}", file=err)
        return EXIT_USAGE
    context = ValidationContext(
        target_system=TargetSystem(args.target_system) if args.target_system else DEFAULT_TARGET[language],
        strictness=Strictness(args.strictness or default_strictness),
        service=args.service,
        current_config=current_config,
    )
    failed = False
    for path, text in zip(args.paths, texts, strict=True):
        result = validate_script(text, language=language, context=context)
        failed = failed or not result.passed
        if args.format == "json":
            print(json.dumps({"path": path, **result.as_dict()}), file=out)
        else:
            _print_text(path, result.as_dict(), out)
    return EXIT_FAILED if failed else EXIT_PASSED


def _print_text(path: str, result: dict[str, object], out: TextIO) -> None:
    print(
        f"{path}: {result['status']} ({result['language']} on {result['target_system']}, "
        f"strictness {result['strictness']}, {result['duration_ms']} ms)",
        file=out,
    )
    findings = result["findings"]
    assert isinstance(findings, list)
    for finding in findings:
        line = f":{finding['line']}" if finding.get("line") else ""
        print(f"  {finding['severity'].upper():8} {finding['rule_id']}{line} {finding['message']}", file=out)
        if finding.get("hint"):
            print(f"           hint: {finding['hint']}", file=out)
