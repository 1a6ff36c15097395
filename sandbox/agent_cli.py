"""The agent CLI: claim, check, run and report approved scripts in a loop.

    python -m sandbox.agent_cli --url http://server:8000 --token-env REMEDIATION_AGENT_TOKEN [--once] [--poll 5]

The token is read from the environment variable named by --token-env, never from the command line
(which other users of the host can read). Each outcome is printed as one JSON line on stdout.

Exit codes with --once: 0 the script succeeded or there was nothing to do, 1 the script ran and
failed, 3 the agent refused to run it or lost its claim, 4 the server refused the agent
(bad token, agent backend disabled), 2 usage errors. Without --once the loop runs until
interrupted and keeps polling through server and network errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence

import httpx

from sandbox.agent_sdk import AgentApiError, AgentClient, RunOutcome, run_one

EXIT_BY_STATUS = {"idle": 0, "succeeded": 0, "failed": 1, "refused": 3, "lost": 3}
EXIT_SERVER_REFUSED = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox.agent_cli", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server's root URL, e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--token-env",
        required=True,
        metavar="VAR",
        help="name of the environment variable holding the agent's API token",
    )
    parser.add_argument("--once", action="store_true", help="handle at most one script, then exit")
    parser.add_argument(
        "--poll",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="wait between polls when there is no work (default 5)",
    )
    parser.add_argument(
        "--strictness",
        choices=["LOW", "MEDIUM", "HIGH"],
        default="HIGH",
        help="local validation strictness; the server's applies when stricter (default HIGH)",
    )
    parser.add_argument("--no-validate", action="store_true", help="skip local validation (the SHA-256 check stays)")
    parser.add_argument("--worker", default=None, help="name reported to the server (default: host name)")
    parser.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout in seconds (default 30)")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def _print(outcome: RunOutcome) -> None:
    print(json.dumps(outcome.as_dict(), sort_keys=True), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    token = os.environ.get(args.token_env, "").strip()
    if not token:
        print(f"error: the environment variable {args.token_env} is empty or unset", file=sys.stderr)
        return 2
    if args.poll <= 0:
        print("error: --poll must be positive", file=sys.stderr)
        return 2
    with AgentClient(args.url, token, timeout=args.timeout) as client:
        while True:
            try:
                outcome = run_one(client, validate=not args.no_validate, strictness=args.strictness, worker=args.worker)
            except AgentApiError as error:
                print(f"error: the server refused the agent: {error}", file=sys.stderr)
                if args.once:
                    return EXIT_SERVER_REFUSED
                time.sleep(args.poll)
                continue
            except httpx.HTTPError as error:
                print(f"error: cannot reach {args.url}: {error}", file=sys.stderr)
                if args.once:
                    return EXIT_SERVER_REFUSED
                time.sleep(args.poll)
                continue
            if outcome.status != "idle" or args.once:
                _print(outcome)
            if args.once:
                return EXIT_BY_STATUS[outcome.status]
            if outcome.status == "idle":
                time.sleep(args.poll)


if __name__ == "__main__":
    sys.exit(main())
