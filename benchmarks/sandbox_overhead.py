"""What the local sandbox adds to a run: a bare subprocess against sandbox.local.run_in_sandbox.

The same trivial, fixed scripts (``echo``, ``print(1)``; never anything generated) run four ways,
interleaved in a shuffled order each round so that drift in the machine's load hits every way alike.
The two middle ones only attribute the cost; the comparison the target is about is bare vs sandbox.

* ``bare``        the interpreter the sandbox uses, as a plain subprocess with captured output;
* ``bwrap-min``   the same under a minimal bubblewrap command line (all namespaces, read-only /usr,
                  fresh /proc, /dev, /tmp): the kernel's namespace and mount set-up alone;
* ``bwrap-args``  bwrap-min plus what run_in_sandbox adds on the command line: the read-only /etc
                  files, the nested-userns and capability flags, and prlimit before the interpreter;
* ``sandbox``     ``run_in_sandbox(script, language=...)`` with its default limits: on top of the
                  command line, the host-uid lease, memfd-backed files, the supervision loop (poll,
                  /proc scans for the memory watchdog) and the post-run cleanup.

    .venv/bin/python benchmarks/sandbox_overhead.py            # 40 rounds, writes results/sandbox_overhead.json
    .venv/bin/python benchmarks/sandbox_overhead.py --quick    # 3 rounds, writes nothing
    .venv/bin/python benchmarks/sandbox_overhead.py --profile  # cProfile 20 sandboxed bash runs
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import subprocess
import time
from collections.abc import Callable

from measure import REPO, format_table, machine, summary_ms, write_results

from sandbox.limits import SandboxLimits
from sandbox.local import ETC_READ_ONLY, PRLIMIT, find_bwrap, run_in_sandbox

#: Fixed, harmless scripts. The interpreters are the ones run_in_sandbox uses inside the sandbox.
SCRIPTS: dict[str, tuple[str, list[str]]] = {
    "bash": ("echo hello\n", ["/bin/bash", "--noprofile", "--norc"]),
    "python": ("print(1)\n", ["/usr/bin/python3", "-B", "-s"]),
}
EXPECTED_STDOUT = {"bash": "hello\n", "python": "1\n"}
#: Issue 6: what one local sandboxed run may add to the bare run.
TARGET_ADDED_MS = 15.0


def _minimal_bwrap_prefix() -> list[str]:
    args = [find_bwrap(), "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib64"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return [*args, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin"]


def _sandbox_like_bwrap_prefix() -> list[str]:
    limits = SandboxLimits()
    minimal = _minimal_bwrap_prefix()
    args = [minimal[0], "--unshare-user", "--disable-userns", "--cap-drop", "ALL", *minimal[1:]]
    for path in ETC_READ_ONLY:
        args += ["--ro-bind-try", path, path]
    return [
        *args,
        PRLIMIT,
        f"--as={limits.memory_bytes}",
        f"--nproc={limits.max_processes + 2}",
        f"--fsize={limits.max_file_bytes}",
        f"--nofile={limits.max_open_files}",
        "--core=0",
        "--",
    ]


def _subprocess_runner(prefix: list[str], interpreter: list[str], script: str) -> Callable[[], str]:
    # "-c" rather than a script file: a minimal bwrap sees none of the host's files outside /usr.
    command = [*prefix, *interpreter, "-c", script]

    def run() -> str:
        return subprocess.run(command, capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL).stdout

    return run


def _sandbox_runner(language: str, script: str) -> Callable[[], str]:
    def run() -> str:
        result = run_in_sandbox(script, language=language)  # type: ignore[arg-type]
        if result.exit_code != 0:
            raise RuntimeError(f"sandboxed {language} run failed: {result.exit_code} {result.stderr[:500]}")
        return result.stdout

    return run


def bench(rounds: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = []
    for language, (script, interpreter) in SCRIPTS.items():
        runners = {
            "bare": _subprocess_runner([], interpreter, script),
            "bwrap-min": _subprocess_runner(_minimal_bwrap_prefix(), interpreter, script),
            "bwrap-args": _subprocess_runner(_sandbox_like_bwrap_prefix(), interpreter, script),
            "sandbox": _sandbox_runner(language, script),
        }
        samples: dict[str, list[float]] = {name: [] for name in runners}
        for name, runner in runners.items():  # warm-up: page cache, imports, the uid lock directory
            if runner() != EXPECTED_STDOUT[language]:
                raise RuntimeError(f"{name} {language}: unexpected output")
        for _ in range(rounds):
            order = list(runners)
            rng.shuffle(order)
            for name in order:
                started = time.perf_counter()
                out = runners[name]()
                samples[name].append((time.perf_counter() - started) * 1000)
                if out != EXPECTED_STDOUT[language]:
                    raise RuntimeError(f"{name} {language}: unexpected output {out!r}")
        stats = {name: summary_ms(values) for name, values in samples.items()}
        medians = {name: statistics.median(values) for name, values in samples.items()}
        bare, sandbox = medians["bare"], medians["sandbox"]
        added = sandbox - bare
        rows.append(
            {
                "language": language,
                "script": script.strip(),
                "rounds": rounds,
                **{f"{name}": value for name, value in stats.items()},
                "added_median_ms": round(added, 2),
                "ratio_median": round(sandbox / bare, 2),
                # Where the added time goes, from the medians: namespaces and mounts, the rest of
                # the command line, and run_in_sandbox's own Python around the process.
                "added_by_minimal_bwrap_ms": round(medians["bwrap-min"] - bare, 2),
                "added_by_sandbox_command_line_ms": round(medians["bwrap-args"] - medians["bwrap-min"], 2),
                "added_by_run_in_sandbox_python_ms": round(sandbox - medians["bwrap-args"], 2),
                "target_added_ms": TARGET_ADDED_MS,
                "target_met": added < TARGET_ADDED_MS,
            }
        )
    return rows


def profile(runs: int = 20) -> str:
    run = _sandbox_runner("bash", SCRIPTS["bash"][0])
    run()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        run()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def table(rows: list[dict[str, object]]) -> str:
    def ms(row: dict[str, object], name: str, key: str) -> object:
        return row[name][key]  # type: ignore[index]

    return format_table(
        [
            "language",
            "runs",
            "bare median",
            "bare p95",
            "bwrap-min median",
            "bwrap-args median",
            "sandbox median",
            "sandbox p95",
            "added median",
            "ratio",
            "target",
            "met",
        ],
        [
            [
                r["language"],
                r["rounds"],
                ms(r, "bare", "median_ms"),
                ms(r, "bare", "p95_ms"),
                ms(r, "bwrap-min", "median_ms"),
                ms(r, "bwrap-args", "median_ms"),
                ms(r, "sandbox", "median_ms"),
                ms(r, "sandbox", "p95_ms"),
                r["added_median_ms"],
                f"{r['ratio_median']:.1f}x",
                f"< {TARGET_ADDED_MS:.0f} ms",
                "yes" if r["target_met"] else "NO",
            ]
            for r in rows
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 rounds, no result file")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--profile", action="store_true", help="cProfile sandboxed bash runs and exit")
    args = parser.parse_args()
    if args.profile:
        print(profile())
        return
    rounds = 3 if args.quick else args.rounds
    rows = bench(rounds, args.seed)
    print("all times in ms; bwrap-min / bwrap-args only attribute the cost (see the module docstring)\n")
    print(table(rows))
    if not args.quick:
        path = write_results("sandbox_overhead", {"machine": machine(), "rows": rows})
        print(f"\nwrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
