"""Measure what the payload log costs the scoring service: interleaved on/off slices, per-thread CPU.

Issue 17's targets: log-on throughput >= 0.95 of log-off, p99 <= 1.1x. This machine's speed drifts by 10-20 %
within a minute (other tenants), more than that target, so the script starts two fresh ``bentoml serve``
side by side, one with the payload log on and one off (``CREDIT_SCORING_PAYLOAD_LOG_ENABLED``), warms each
up with ``--warmup`` seconds of wrk, then runs ``--pairs`` pairs of short slices, ``wrk -t2 -c8
-d<duration>s`` with single applicants (the same bodies and helpers as ``bench_service.py``), in the order
on/off, off/on, on/off, ..., so that adjacent slices see the same machine. Per slice it reports:

* throughput and p50/p99 latency;
* server CPU per request, the whole process tree (``bench_service.wrk``);
* CPU per request of the scoring worker process, of its main thread (the event loop that answers requests),
  and, with the log on, of the payload-log writer thread, all from ``/proc/<worker>/task/<tid>/stat``
  (user + system ticks). The writer thread is found by its Python name
  (``payload-log-writer``) through ``py-spy dump --json``, which maps Python threads to OS thread ids
  (Python 3.11 does not give threads an OS-level name, so every ``/proc/.../comm`` reads ``python``).

With ``--baseline-source`` (an export of the previous commit) a third server, **prev**, runs that code with
the log on, in the same rounds (the order of the slices rotates every round), so this code and the previous
one are each compared with log-off on the same machine minutes. ``--flush-interval-s`` sets this code's
``CREDIT_SCORING_PAYLOAD_FLUSH_INTERVAL_S``.

After the servers stopped, it counts the records in each spool (every request with the log on, none off).

The request-path cost (``PayloadLogWriter.submit``, the only payload-log work on the event loop) is timed
in process, as is the writer thread's encoding and writing of the same records, as a noise-free cross-check
of the per-thread numbers; and the format itself: encoding and decoding CPU and bytes per record of the Arrow
record batches, and with ``--baseline-source`` (an export of the previous release) of its JSON lines, on the
same records. Ratios are per pair (on/off of the same pair) and their medians.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_payload_log.py [--pairs 10] [--duration 5] \
        [--warmup 3] [--json out.json] [--bentoml-home DIR [--model-tag credit_scorer:latest]] \
        [--baseline-source DIR] [--flush-interval-s 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_service as bench

from deploy.bento_server import BentoServer
from service.payload_log import PayloadLogWriter, QueuedRecords, SpoolSegments, payload_schema, record_batch
from tests.service.spool_records import read_segment

WRITER_THREAD_NAME = "payload-log-writer"
"""Python name of the worker's thread that encodes and appends the records (``service/payload_log``)."""
SCORING_SERVICE_NAME = "credit_scoring"
"""``--service-name`` of the scoring worker process under ``bentoml serve`` (the other is the explainer)."""
PY_SPY = str(Path(sys.executable).with_name("py-spy"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(stat_path: Path) -> float:
    """User + system CPU seconds from a ``/proc/.../stat`` file (a process or one of its threads)."""
    fields = stat_path.read_text().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state) of proc(5); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def scoring_worker_pid(server_pid: int) -> int:
    """The pid of the scoring service's worker process among the descendants of ``bentoml serve``."""
    for child in psutil.Process(server_pid).children(recursive=True):
        cmdline = child.cmdline()
        if "--service-name" in cmdline and SCORING_SERVICE_NAME in cmdline:
            return child.pid
    raise RuntimeError(f"no {SCORING_SERVICE_NAME} worker under pid {server_pid}")


def python_threads(pid: int) -> dict[str, list[int]]:
    """OS thread ids of a Python process by Python thread name (``py-spy dump --json``; pauses it briefly)."""
    out = subprocess.run(
        [PY_SPY, "dump", "--json", "-p", str(pid)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    threads: dict[str, list[int]] = {}
    for thread in json.loads(out):
        threads.setdefault(thread["thread_name"] or "", []).append(int(thread["os_thread_id"]))
    return threads


def spool_records(spool_dir: Path) -> int:
    """Records in every segment of a spool directory (closed and open)."""
    if not spool_dir.exists():
        return 0
    return sum(read_segment(path).num_rows for path in spool_dir.glob("seg-*"))


class Request(NamedTuple):
    """The payload records of one scored request, as the handler submits them."""

    time_s: float
    request_ids: list[str]
    caller_ids: list[str | None]
    model_tag: str
    forms: list[str]
    matrix: np.ndarray
    probabilities: np.ndarray
    refused: np.ndarray


def queued(requests: list[Request]) -> QueuedRecords:
    """``requests`` queued as the writer queues them."""
    out = QueuedRecords()
    for r in requests:
        out.add(*r[1:], time_s=r.time_s)
    return out


def in_process_costs(load: bench.Workload, n: int = 20_000, per_drain: int = 125) -> dict[str, float]:
    """Time, on the same one-row records: ``submit`` (the request path), and the writer thread's encoding and
    appending of all of them. Each is timed in this thread, so it is the work itself without the GIL
    hand-overs and cache misses of a busy worker; then :func:`format_costs` on the same records.
    """
    names = load.names
    matrix = bench.matrix_of(load.single, names)
    rows = [matrix[i : i + 1] for i in range(len(matrix))]
    probabilities = [np.array([0.1 + 0.8 * (i % 7) / 7]) for i in range(len(rows))]
    refused = [p >= load.threshold for p in probabilities]
    ids = [[a["id"]] for a in load.single]
    k = len(rows)
    with tempfile.TemporaryDirectory(prefix="bench_payload_inproc_") as tmp:
        writer = PayloadLogWriter(
            tmp, names, max_bytes=1 << 40, segment_max_bytes=8 << 20, segment_max_age_s=30.0, queue_size=n + 1
        )
        requests = [
            Request(
                time.time(),
                [f"bench-{i:x}"],
                ids[i % k],
                load.tag,
                ["features"],
                rows[i % k],
                probabilities[i % k],
                refused[i % k],
            )
            for i in range(n)
        ]

        async def submit_all() -> float:  # in a running loop, as in the worker
            start = time.perf_counter()
            for r in requests:
                writer.submit(*r[1:])
            return time.perf_counter() - start

        submit_s = asyncio.run(submit_all())
        cpu_start = time.thread_time()
        writer.close()
        write_cpu_s = time.thread_time() - cpu_start
        written = spool_records(Path(tmp))
        spool_bytes = sum(p.stat().st_size for p in Path(tmp).glob("seg-*"))
    if written != n:
        raise RuntimeError(f"in-process writer wrote {written} of {n} records")
    return {
        "submit_us": submit_s / n * 1e6,
        "write_cpu_us": write_cpu_s / n * 1e6,
        "segment_bytes_per_record": spool_bytes / n,
        **format_costs(load, requests, per_drain),
    }


def format_costs(load: bench.Workload, requests: list[Request], per_drain: int) -> dict[str, float]:
    """Encoding (writer) and decoding (sidecar) CPU per record of Arrow record batches, and, when the previous
    release's modules are importable (``--baseline-source``), of its JSON lines, on the same records in
    drains of ``per_drain`` requests (one 50 ms flush at 2,500 req/s)."""
    drains = [requests[i : i + per_drain] for i in range(0, len(requests), per_drain)]
    n = len(requests)
    schema = payload_schema(load.names)
    queues = [queued(drain) for drain in drains]
    cpu_start = time.thread_time()
    messages = [record_batch(schema, queue).serialize().to_pybytes() for queue in queues]
    arrow_encode = time.thread_time() - cpu_start
    with tempfile.TemporaryDirectory(prefix="bench_payload_format_") as tmp:
        segments = SpoolSegments(
            tmp,
            schema,
            writer_id="bench",
            max_bytes=1 << 40,
            segment_max_bytes=1 << 40,
            segment_max_age_s=1e9,
        )
        for message, drain in zip(messages, drains, strict=True):
            segments.append(message, len(drain))
        segments.close()
        (segment,) = Path(tmp).glob("seg-*")
        cpu_start = time.thread_time()
        table = read_segment(segment)
        features = table.column("features").combine_chunks()
        matrix = np.column_stack([features.field(name).to_numpy(zero_copy_only=False) for name in load.names])
        arrow_decode = time.thread_time() - cpu_start
    if matrix.shape != (n, len(load.names)):
        raise RuntimeError(f"decoded {matrix.shape}, expected {(n, len(load.names))}")
    costs = {
        "arrow_encode_cpu_us": arrow_encode / n * 1e6,
        "arrow_decode_cpu_us": arrow_decode / n * 1e6,
        "arrow_bytes_per_record": sum(map(len, messages)) / n,
    }
    old = previous_json_modules()
    if old is not None:
        costs.update(json_costs(load, drains, *old))
    return costs


def json_costs(
    load: bench.Workload,
    drains: list[list[Request]],
    appender_module: ModuleType,
    records_module: ModuleType,
) -> dict[str, float]:
    """The previous release's JSON lines on the same drains: formatting CPU, parsing CPU, bytes per record."""
    n = sum(map(len, drains))
    appender = appender_module.SpoolAppender(
        "/nonexistent", load.names, writer_id="bench", request_id_prefix="bench", max_bytes=1 << 40,
        segment_max_bytes=1 << 40, segment_max_age_s=1e9,
    )  # fmt: skip
    old_drains = [
        appender_module.Drain(
            requests=[(r.time_s, i, 1, r.model_tag) for i, r in enumerate(drain)],
            caller_ids=[c for r in drain for c in r.caller_ids],
            forms=[f for r in drain for f in r.forms],
            matrix=np.concatenate([r.matrix for r in drain]),
            probabilities=np.concatenate([r.probabilities for r in drain]),
            refused=np.concatenate([r.refused for r in drain]),
        )
        for drain in drains
    ]
    cpu_start = time.thread_time()
    chunks = [appender.format(drain) for drain in old_drains]
    encode = time.thread_time() - cpu_start
    lines = b"".join(chunks).splitlines()
    parser = records_module.RecordParser(load.names)
    cpu_start = time.thread_time()
    parsed = parser.parse(lines)
    decode = time.thread_time() - cpu_start
    if len(parsed) != n:
        raise RuntimeError(f"previous parser read {len(parsed)} of {n} records")
    return {
        "json_encode_cpu_us": encode / n * 1e6,
        "json_decode_cpu_us": decode / n * 1e6,
        "json_bytes_per_record": sum(map(len, chunks)) / n,
    }


BASELINE_SOURCE: Path | None = None
"""The previous release's checkout, set from ``--baseline-source``."""


def previous_json_modules() -> tuple[ModuleType, ModuleType] | None:
    """The previous release's JSON-lines formatter and parser, loaded from ``BASELINE_SOURCE`` by file."""
    if BASELINE_SOURCE is None or not (BASELINE_SOURCE / "service/spool_appender.py").is_file():
        return None  # no baseline, or one already on Arrow segments
    modules = []
    for name, relative in (("old_spool_appender", "service/spool_appender.py"),
                           ("old_records", "monitoring/records.py")):  # fmt: skip
        spec = importlib.util.spec_from_file_location(name, BASELINE_SOURCE / relative)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
        modules.append(module)
    return modules[0], modules[1]


@dataclass
class Server:
    """One running ``bentoml serve`` of the comparison and the ``/proc`` stat files read around each slice."""

    served: BentoServer
    label: str
    spool: Path
    stats: dict[str, Path]


def start_server(
    load: bench.Workload,
    work: Path,
    label: str,
    servers: list[BentoServer],
    *,
    source: Path | None = None,
    env: dict[str, str] | None = None,
) -> Server:
    """A fresh server, ``label`` ``on``, ``off`` (payload log off) or ``prev`` (``source``'s code, log on),
    ready; its worker and threads found."""
    log_on = label != "off"
    spool = work / f"spool-{label}"
    env = {
        "CREDIT_SCORING_SPOOL_DIR": str(spool),
        "CREDIT_SCORING_BUNDLE_TAG": load.tag,
        "CREDIT_SCORING_PAYLOAD_LOG_ENABLED": "true" if log_on else "false",
        **(env or {}),
    }
    options = {"source": source} if source is not None else {}
    served = BentoServer(load.home, env=env, log_path=work / f"{label}.log", **options).start()
    servers.append(served)
    served.wait_ready()
    worker = scoring_worker_pid(served.process.pid)
    threads = python_threads(worker)
    writers = threads.get(WRITER_THREAD_NAME, [])
    if log_on and len(writers) != 1:
        raise RuntimeError(f"expected one {WRITER_THREAD_NAME} thread, found {threads}")
    if not log_on and writers:
        raise RuntimeError(f"payload log off but {WRITER_THREAD_NAME} is running")
    task = Path(f"/proc/{worker}/task")
    stats = {"worker": Path(f"/proc/{worker}/stat"), "main": task / str(worker) / "stat"}
    if writers:
        stats["writer"] = task / str(writers[0]) / "stat"
    return Server(served, label, spool, stats)


def run_slice(server: Server, lua: Path, duration_s: int) -> dict[str, float]:
    """One wrk run against ``server``: throughput, latency, CPU per request of the tree, worker, threads."""
    loadavg_1 = os.getloadavg()[0]
    before = {k: proc_cpu_s(p) for k, p in server.stats.items()}
    measured = bench.wrk(
        server.served.url, lua, connections=8, duration_s=duration_s, server_pid=server.served.process.pid
    )
    after = {k: proc_cpu_s(p) for k, p in server.stats.items()}
    requests = measured["requests"]
    result = {
        **measured,
        "loadavg_1min_at_start": loadavg_1,
        **{f"{k}_cpu_us_per_request": (after[k] - before[k]) / requests * 1e6 for k in server.stats},
    }
    if "writer" in server.stats:
        result["writer_share_of_worker"] = (after["writer"] - before["writer"]) / (
            after["worker"] - before["worker"]
        )
    return result


def uptime() -> str:
    """The output of ``uptime`` (load averages over 1, 5 and 15 minutes)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    """Run interleaved on/off slices and print per-slice numbers, per-pair ratios and their medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10, help="pairs of slices (one on, one off)")
    parser.add_argument("--duration", type=int, default=5, help="seconds of each measured wrk slice")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk on each server before")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--baseline-source",
        type=Path,
        help="previous commit's export: also serve it, log on (and time its JSON lines if it has them)",
    )
    parser.add_argument(
        "--flush-interval-s", type=float, help="this code's payload-log flush interval (default: its own)"
    )
    bench.add_workload_arguments(parser)
    args = parser.parse_args()
    global BASELINE_SOURCE
    BASELINE_SOURCE = args.baseline_source
    bench.check_workload_arguments(parser, args)
    for tool in ("wrk", PY_SPY):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found")

    started = time.monotonic()
    results: dict[str, object] = {"uptime_start": uptime(), "duration_s": args.duration, "rounds": []}
    print(results["uptime_start"], flush=True)
    with bench.scratch_area("bench_payload_log_") as (work, servers):
        load = bench.workload_from_arguments(args, work)
        results["model"] = f"{load.description}, {len(load.names)} features"
        print(f"model: {results['model']}", flush=True)
        results["in_process"] = in_process_costs(load)
        ip = results["in_process"]
        print(
            f"in process, one-row records: submit {ip['submit_us']:.2f} us, writer thread (encode + write) "
            f"{ip['write_cpu_us']:.2f} us CPU per record; {ip['segment_bytes_per_record']:.0f} segment bytes "
            "per record",
            flush=True,
        )
        lua = bench.lua_script(work / "single.lua", "/score", [json.dumps(a) for a in load.single])
        on_env = (
            {"CREDIT_SCORING_PAYLOAD_FLUSH_INTERVAL_S": str(args.flush_interval_s)}
            if args.flush_interval_s
            else {}
        )
        served = {
            "on": start_server(load, work, "on", servers, env=on_env),
            "off": start_server(load, work, "off", servers),
        }
        if args.baseline_source:
            served["prev"] = start_server(load, work, "prev", servers, source=args.baseline_source)
        labels = list(served)
        for server in served.values():
            bench.wrk(
                server.served.url,
                lua,
                connections=8,
                duration_s=args.warmup,
                server_pid=server.served.process.pid,
            )
        rounds: list[dict] = results["rounds"]
        print(
            f"{'pair':>4} {'log':<4} {'load1':>5} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'tree us':>8} "
            f"{'worker us':>9} {'main us':>8} {'writer us':>9} {'writer %':>8} "
            f"{'non2xx':>6}",
            flush=True,
        )
        for pair in range(1, args.pairs + 1):
            shift = (pair - 1) % len(labels)
            for label in labels[shift:] + labels[:shift]:
                r = run_slice(served[label], lua, args.duration)
                log_on = label != "off"
                r.update(pair=pair, label=label, log_on=log_on)
                rounds.append(r)
                writer_us = f"{r['writer_cpu_us_per_request']:9.1f}" if log_on else f"{'-':>9}"
                share = f"{r['writer_share_of_worker']:8.1%}" if log_on else f"{'-':>8}"
                print(
                    f"{pair:>4} {label:<4} {r['loadavg_1min_at_start']:5.2f} "
                    f"{r['rps']:7.0f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['cpu_us_per_request']:8.0f} "
                    f"{r['worker_cpu_us_per_request']:9.0f} {r['main_cpu_us_per_request']:8.0f} {writer_us} "
                    f"{share} {r['non_2xx']:6.0f}",
                    flush=True,
                )
        for label, server in served.items():
            server.served.stop()  # graceful: the payload log flushes and closes its segments
            results[f"spool_records_{label}"] = records = spool_records(server.spool)
            measured = sum(r["requests"] for r in rounds if r["label"] == label)
            print(
                f"spool records after stopping, {label}: {records} ({measured:.0f} requests measured, "
                "warm-up not counted; every request with the log on, none off)",
                flush=True,
            )
        results["uptime_end"] = uptime()
        results["wall_s"] = time.monotonic() - started
        results["summary"] = summarise(rounds, results["in_process"])
        if "prev" in served:
            results["summary_prev"] = summarise(rounds, results["in_process"], label="prev")
        report(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))


def summarise(rounds: list[dict], in_process: dict[str, float], label: str = "on") -> dict[str, float]:
    """Medians over slices and over per-pair ratios of the ``label`` server's slices to log-off's."""
    on = {r["pair"]: r for r in rounds if r["label"] == label}
    off = {r["pair"]: r for r in rounds if r["label"] == "off"}
    pairs = sorted(on)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    def pair_ratio(key: str) -> list[float]:
        return [on[p][key] / off[p][key] for p in pairs]

    summary = {
        "median_rps_on": med([on[p]["rps"] for p in pairs]),
        "median_rps_off": med([off[p]["rps"] for p in pairs]),
        "median_tree_cpu_us_on": med([on[p]["cpu_us_per_request"] for p in pairs]),
        "median_tree_cpu_us_off": med([off[p]["cpu_us_per_request"] for p in pairs]),
        "median_worker_cpu_us_on": med([on[p]["worker_cpu_us_per_request"] for p in pairs]),
        "median_worker_cpu_us_off": med([off[p]["worker_cpu_us_per_request"] for p in pairs]),
        "median_main_cpu_us_on": med([on[p]["main_cpu_us_per_request"] for p in pairs]),
        "median_main_cpu_us_off": med([off[p]["main_cpu_us_per_request"] for p in pairs]),
        "median_writer_cpu_us": med([on[p]["writer_cpu_us_per_request"] for p in pairs]),
        "median_writer_share_of_worker": med([on[p]["writer_share_of_worker"] for p in pairs]),
        "median_p99_ms_on": med([on[p]["p99_ms"] for p in pairs]),
        "median_p99_ms_off": med([off[p]["p99_ms"] for p in pairs]),
        "median_pair_p99_ratio": med(pair_ratio("p99_ms")),
        "median_pair_rps_ratio": med(pair_ratio("rps")),
        "median_pair_tree_cpu_ratio": med(pair_ratio("cpu_us_per_request")),
        "median_pair_worker_cpu_ratio": med(pair_ratio("worker_cpu_us_per_request")),
        "median_pair_main_cpu_diff_us": med(
            [on[p]["main_cpu_us_per_request"] - off[p]["main_cpu_us_per_request"] for p in pairs]
        ),
    }
    summary["ratio_of_median_rps"] = summary["median_rps_on"] / summary["median_rps_off"]
    summary["ratio_of_median_tree_cpu"] = summary["median_tree_cpu_us_on"] / summary["median_tree_cpu_us_off"]
    # what the log adds to the worker (the GIL-bound process that limits throughput): the writer thread plus
    # submit() on the event loop, against the worker's CPU per request with the log off
    summary["estimated_cost_share_of_worker"] = (
        summary["median_writer_cpu_us"] + in_process["submit_us"]
    ) / summary["median_worker_cpu_us_off"]
    return summary


def report(results: dict) -> None:
    """Print the medians and ratios against the targets, for this code and (if served) the previous one."""
    print(f"\nmodel: {results['model']}")
    print(f"uptime at start: {results['uptime_start']}\nuptime at end:   {results['uptime_end']}")
    print(f"wall time {results['wall_s']:.0f} s")
    for label in ("on", "prev"):
        if label == "on" or "summary_prev" in results:
            print(f"\n--- {'this code' if label == 'on' else 'previous code'}, log on against log off")
            report_server(results, label)


def report_server(results: dict, label: str) -> None:
    """Print one log-on server's medians and ratios to log-off."""
    s = results["summary" if label == "on" else "summary_prev"]
    on = {r["pair"]: r for r in results["rounds"] if r["label"] == label}
    off = {r["pair"]: r for r in results["rounds"] if r["label"] == "off"}
    for key, what in (("rps", "throughput"), ("cpu_us_per_request", "tree CPU per request")):
        ratios = " / ".join(f"{on[p][key] / off[p][key]:.3f}" for p in sorted(on))
        print(f"per pair, on/off {what}: {ratios}")
    print(
        f"throughput: median on {s['median_rps_on']:.0f} / off {s['median_rps_off']:.0f} req/s = "
        f"{s['ratio_of_median_rps']:.3f}; median of per-pair ratios {s['median_pair_rps_ratio']:.3f} "
        "(target >= 0.95)"
    )
    print(
        f"server CPU per request (tree): median on {s['median_tree_cpu_us_on']:.0f} / off "
        f"{s['median_tree_cpu_us_off']:.0f} us = {s['ratio_of_median_tree_cpu']:.3f}; "
        f"median of per-pair ratios {s['median_pair_tree_cpu_ratio']:.3f}"
    )
    print(
        f"worker process CPU per request: median on {s['median_worker_cpu_us_on']:.0f} / off "
        f"{s['median_worker_cpu_us_off']:.0f} us; "
        f"median of per-pair ratios {s['median_pair_worker_cpu_ratio']:.3f}"
    )
    print(
        f"worker main thread CPU per request: median on {s['median_main_cpu_us_on']:.0f} / off "
        f"{s['median_main_cpu_us_off']:.0f} us; "
        f"median per-pair difference {s['median_pair_main_cpu_diff_us']:+.1f} us"
    )
    ip = results["in_process"]
    print(
        f"writer thread: median {s['median_writer_cpu_us']:.1f} us per request = "
        f"{s['median_writer_share_of_worker']:.1%} of the worker's CPU (in process: encode + write "
        f"{ip['write_cpu_us']:.2f} us per record); request path (submit, in process) {ip['submit_us']:.2f} us"
    )
    print(
        f"p99: median on {s['median_p99_ms_on']:.2f} / off {s['median_p99_ms_off']:.2f} ms; "
        f"median of per-pair ratios {s['median_pair_p99_ratio']:.2f} (target <= 1.1)"
    )
    print(
        f"format, in process, per record: Arrow encode {ip['arrow_encode_cpu_us']:.2f} us, decode "
        f"{ip['arrow_decode_cpu_us']:.2f} us, {ip['arrow_bytes_per_record']:.0f} bytes"
        + (
            f"; previous JSON lines encode {ip['json_encode_cpu_us']:.2f} us, decode "
            f"{ip['json_decode_cpu_us']:.2f} us, {ip['json_bytes_per_record']:.0f} bytes"
            if "json_encode_cpu_us" in ip
            else ""
        )
    )
    print(
        f"estimated payload-log cost, (writer + submit) / worker CPU with the log off: "
        f"{s['estimated_cost_share_of_worker']:.1%} (target <= 5 %)"
    )


if __name__ == "__main__":
    main()
