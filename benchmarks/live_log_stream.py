"""A 1,000-line output stream from a sandboxed script to a websocket-side reader on the channel layer.

A fixed python script prints ``--lines`` numbered lines, each with the wall-clock time it was printed.
``run_in_sandbox`` hands every line to an ``on_output`` callback, which stamps it again and hands
it to the run's ``remediation.live_events.LivePublisher`` -- the product's path: a background
thread with its own event loop sends batches, one group message per batch. A receiver coroutine,
joined to the group like the execution page's consumer, reads until the end marker and stamps
each event on arrival.

Two publishers, because the callback's thread decides how ``async_to_sync`` behaves:

* ``worker-thread``: the sandbox runs in a plain thread with no event loop, as in a Celery worker;
  every ``async_to_sync`` call then runs on a fresh event loop. Redis only (the in-memory layer's
  queues cannot be shared across event loops).
* ``shared-loop``: the sandbox runs via ``sync_to_async`` from the receiver's event loop, so every
  send is scheduled on that loop (as from an ASGI process).

Layers: channels_redis against the real Redis at 127.0.0.1:6379 when it answers a PING (nothing is
started), and channels' InMemoryChannelLayer always (the floor); the table says which ran. Both use the layer's default
capacity (100 messages per channel), as config/settings/channels.py does: lines published faster
than the reader drains them past that are dropped by the layer and counted as lost.

    .venv/bin/python benchmarks/live_log_stream.py            # 3 runs per publisher, writes results/
    .venv/bin/python benchmarks/live_log_stream.py --quick    # 100 lines, 1 run, writes nothing
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from measure import REPO, format_table, machine, percentile, write_results

from remediation.live_events import LivePublisher, run_group_name
from sandbox.local import SandboxResult, run_in_sandbox

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: Fixed and harmless: prints numbered lines with the time each was printed. Never anything generated.
PRINTER = "import time\nfor i in range({lines}):\n    print(i, repr(time.time()))\n"
#: After the script ends, how long the reader waits for stragglers when the end marker never comes.
IDLE_SECONDS = 3.0


def redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def make_layer(kind: str) -> Any:
    if kind == "redis":
        from channels_redis.core import RedisChannelLayer

        return RedisChannelLayer(hosts=[f"redis://{REDIS_HOST}:{REDIS_PORT}/0"])
    from channels.layers import InMemoryChannelLayer

    return InMemoryChannelLayer()


@dataclass
class StreamRun:
    sent: int = 0
    received: int = 0
    total_ms: float = 0.0
    sandbox_ms: float = 0.0
    #: printed in the sandbox -> read from the channel layer
    end_to_end_ms: list[float] = field(default_factory=list)
    #: group_send called -> read from the channel layer
    layer_ms: list[float] = field(default_factory=list)
    #: printed in the sandbox -> reached on_output
    capture_ms: list[float] = field(default_factory=list)
    out_of_order: int = 0


def _callback(run_id: str, run: StreamRun, publisher: Any) -> Callable[[str, str], None]:
    """The product's path: each line goes to the run's LivePublisher, which batches on its own thread."""

    def on_output(stream: str, line: str) -> None:
        now = time.time()
        seq_text, printed_at = line.split(" ", 1)
        run.capture_ms.append((now - float(printed_at)) * 1000)
        run.sent += 1
        publisher.send(
            [{"type": "log", "run_id": run_id, "seq": int(seq_text), "stream": stream, "text": line, "sent_at": now}]
        )

    return on_output


@dataclass
class ScriptFinished:
    """Set by the sandbox's thread when the script has ended, read by the receiver's loop."""

    event: threading.Event = field(default_factory=threading.Event)
    at: float = 0.0

    def set(self) -> None:
        self.at = time.monotonic()
        self.event.set()

    def idle_for(self, seconds: float) -> bool:
        return self.event.is_set() and time.monotonic() - self.at > seconds


async def _receive(layer: Any, channel: str, run: StreamRun, finished: ScriptFinished) -> None:
    last_seq = -1
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), timeout=0.2)
        except TimeoutError:
            if finished.idle_for(IDLE_SECONDS):
                return
            continue
        arrived = time.time()
        for payload in message["payloads"]:
            if payload["type"] == "end":
                return
            run.received += 1
            run.layer_ms.append((arrived - payload["sent_at"]) * 1000)
            run.end_to_end_ms.append((arrived - float(payload["text"].split(" ", 1)[1])) * 1000)
            run.out_of_order += payload["seq"] < last_seq
            last_seq = payload["seq"]


def _run_script(lines: int, on_output: Callable[[str, str], None], finished: ScriptFinished) -> SandboxResult:
    try:
        return run_in_sandbox(PRINTER.format(lines=lines), language="python", on_output=on_output)
    finally:
        finished.set()


async def stream_once(layer: Any, publisher: str, lines: int) -> StreamRun:
    run = StreamRun()
    run_id = uuid.uuid4().hex
    group = run_group_name(run_id)
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    finished = ScriptFinished()
    live = LivePublisher(run_id, layer=layer)
    on_output = _callback(run_id, run, live)
    end = {"type": "end", "run_id": run_id}
    started = time.perf_counter()
    receiver = asyncio.create_task(_receive(layer, channel, run, finished))
    if publisher == "shared-loop":
        result = await sync_to_async(_run_script, thread_sensitive=False)(lines, on_output, finished)
    else:
        box: dict[str, SandboxResult] = {}

        def worker() -> None:
            box["result"] = _run_script(lines, on_output, finished)

        thread = threading.Thread(target=worker, name="bench-sandbox-worker")
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.01)
        result = box["result"]
    live.send([end])  # type: ignore[list-item]
    await sync_to_async(live.close, thread_sensitive=False)()
    await receiver
    run.total_ms = (time.perf_counter() - started) * 1000
    run.sandbox_ms = result.duration_ms
    if result.exit_code != 0:
        raise RuntimeError(f"printer script failed: {result.exit_code} {result.stderr[:500]}")
    await layer.group_discard(group, channel)
    return run


def summarise(layer_kind: str, publisher: str, runs: list[StreamRun], lines: int) -> dict[str, object]:
    def pooled(name: str) -> dict[str, float]:
        values = [v for run in runs for v in getattr(run, name)]
        return {
            "median_ms": round(statistics.median(values), 3) if values else float("nan"),
            "p95_ms": round(percentile(values, 0.95), 3),
            "max_ms": round(max(values), 3) if values else float("nan"),
        }

    total = statistics.median(run.total_ms for run in runs)
    received = statistics.median(run.received for run in runs)
    return {
        "layer": layer_kind,
        "publisher": publisher,
        "lines": lines,
        "runs": len(runs),
        "total_ms_median": round(total, 1),
        "total_ms_each": [round(run.total_ms, 1) for run in runs],
        "sandbox_ms_each": [round(run.sandbox_ms, 1) for run in runs],
        "lines_per_second": round(received / total * 1000, 1),
        "received_each": [run.received for run in runs],
        "lost_each": [run.sent - run.received for run in runs],
        "out_of_order_each": [run.out_of_order for run in runs],
        "latency_print_to_reader": pooled("end_to_end_ms"),
        "latency_publish_to_reader": pooled("layer_ms"),
        "latency_print_to_callback": pooled("capture_ms"),
    }


def table(rows: list[dict[str, Any]]) -> str:
    return format_table(
        [
            "layer",
            "publisher",
            "lines",
            "total ms",
            "lines/s",
            "lost",
            "publish->reader median",
            "p95",
            "print->reader median",
            "p95",
        ],
        [
            [
                r["layer"],
                r["publisher"],
                r["lines"],
                r["total_ms_median"],
                r["lines_per_second"],
                "/".join(str(n) for n in r["lost_each"]),
                r["latency_publish_to_reader"]["median_ms"],
                r["latency_publish_to_reader"]["p95_ms"],
                r["latency_print_to_reader"]["median_ms"],
                r["latency_print_to_reader"]["p95_ms"],
            ]
            for r in rows
        ],
    )


async def bench(layer_kind: str, lines: int, runs: int) -> list[dict[str, object]]:
    publishers = ["worker-thread", "shared-loop"] if layer_kind == "redis" else ["shared-loop"]
    rows = []
    for publisher in publishers:
        layer = make_layer(layer_kind)
        await stream_once(layer, publisher, 10)  # warm-up: connections, imports, the uid lock directory
        results = [await stream_once(layer, publisher, lines) for _ in range(runs)]
        rows.append(summarise(layer_kind, publisher, results, lines))
        if layer_kind == "redis":
            await layer.flush()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100 lines, 1 run, no result file")
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layer", choices=["auto", "redis", "memory"], default="auto")
    args = parser.parse_args()
    if args.layer == "auto":
        # The in-memory layer always runs too: it is the floor that Redis' round trips add to.
        layer_kinds = ["redis", "memory"] if redis_answers() else ["memory"]
    else:
        layer_kinds = [args.layer]
    lines, runs = (100, 1) if args.quick else (args.lines, args.runs)
    rows = [row for kind in layer_kinds for row in asyncio.run(bench(kind, lines, runs))]
    used = (
        "channels_redis at 127.0.0.1:6379" if "redis" in layer_kinds else "InMemoryChannelLayer (Redis did not answer)"
    )
    print(f"channel layers: {', '.join(layer_kinds)} ({used}); times in ms; lost = lines the layer dropped per run\n")
    print(table(rows))
    if not args.quick:
        path = write_results("live_log_stream", {"machine": machine(), "rows": rows})
        print(f"\nwrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
