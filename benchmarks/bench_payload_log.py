"""Measure what the payload log costs the scoring service: interleaved on/off slices, per-thread CPU.

Issue 3's target is "payload logging costs at most 5 % of throughput". This machine's speed drifts by 10-20 %
within a minute (other tenants), more than that target, so the script starts two fresh ``bentoml serve``
side by side, one with the payload log on and one off (``CREDIT_SCORING_PAYLOAD_LOG_ENABLED``), warms each
up with ``--warmup`` seconds of wrk, then runs ``--pairs`` pairs of short slices, ``wrk -t2 -c8
-d<duration>s`` with single applicants (the same bodies and helpers as ``bench_service.py``), in the order
on/off, off/on, on/off, ..., so that adjacent slices see the same machine. Per slice it reports:

* throughput and p50/p99 latency;
* server CPU per request, the whole process tree (``bench_service.wrk``);
* CPU per request of the scoring worker process, of its main thread (the event loop that answers requests),
  and, with the log on, of the payload-log writer thread, all from ``/proc/<worker>/task/<tid>/stat``
  (user + system ticks), and of the writer process the worker starts (``/proc/<pid>/stat``), which
  formats and appends the records off the worker. The writer thread is found by its Python name
  (``payload-log-writer``) through ``py-spy dump --json``, which maps Python threads to OS thread ids
  (Python 3.11 does not give threads an OS-level name, so every ``/proc/.../comm`` reads ``python``).

After both servers stopped, it counts the records in each spool (every request with the log on, none off).

The request-path cost (``PayloadLogWriter.submit``, the only payload-log work on the event loop) is timed
in process, as are the writer thread's shipping and the writer process's formatting and writing of the same
records, as a noise-free cross-check of the per-thread numbers. Ratios are per pair (on/off of the same
pair) and their medians.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_payload_log.py [--pairs 10] [--duration 5] \
        [--warmup 3] [--json out.json] [--bentoml-home DIR [--model-tag credit_scorer:latest]]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_service as bench

from service.payload_log import PayloadLogWriter, drain_of
from service.spool_appender import SpoolAppender
from tests.service.serving import ServedService

WRITER_THREAD_NAME = "payload-log-writer"
"""Python name of the worker's thread that ships records to the writer process (``service/payload_log``)."""
WRITER_PROCESS_MODULE = "service.payload_log_process"
"""Module the writer process runs (``python -m``), to find it among the worker's children."""
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
    """Lines in every segment of a spool directory (closed and open)."""
    if not spool_dir.exists():
        return 0
    total = 0
    for path in spool_dir.glob("seg-*"):
        with path.open("rb") as handle:
            total += sum(1 for _ in handle)
    return total


def in_process_costs(load: bench.Workload, n: int = 20_000, per_drain: int = 125) -> dict[str, float]:
    """Time, on the same one-row records: ``submit`` (the request path); the worker's writer thread turning
    drains of ``per_drain`` requests (one 50 ms flush at 2,500 req/s) into a pickled frame; and the writer
    process's formatting and appending of those drains. Each is timed in this thread, so it is the work
    itself without the GIL hand-overs and cache misses of a busy worker (a lower bound for each).
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
        start = time.perf_counter()
        for i in range(n):
            j = i % k
            writer.submit(i, ids[j], load.tag, rows[j], probabilities[j], refused[j])
        submit_s = time.perf_counter() - start
        batches = list(writer._queue)
        chunks = [batches[i : i + per_drain] for i in range(0, n, per_drain)]
        cpu_start = time.thread_time()
        frames = [pickle.dumps(drain_of(chunk), protocol=pickle.HIGHEST_PROTOCOL) for chunk in chunks]
        ship_cpu_s = time.thread_time() - cpu_start
        appender = SpoolAppender(
            tmp, names, writer_id="bench", request_id_prefix="bench", max_bytes=1 << 40,
            segment_max_bytes=8 << 20, segment_max_age_s=30.0,
        )  # fmt: skip
        cpu_start = time.thread_time()
        for payload in frames:
            appender.write(pickle.loads(payload))
        appender.close_segment()
        append_cpu_s = time.thread_time() - cpu_start
        written = spool_records(Path(tmp))
    if written != n:
        raise RuntimeError(f"in-process appender wrote {written} of {n} records")
    return {
        "submit_us": submit_s / n * 1e6,
        "ship_cpu_us": ship_cpu_s / n * 1e6,
        "format_and_write_cpu_us": append_cpu_s / n * 1e6,
        "frame_bytes_per_record": sum(map(len, frames)) / n,
    }


def writer_process_pid(worker_pid: int) -> int | None:
    """The pid of the payload-log writer process started by the scoring worker, if any."""
    for child in psutil.Process(worker_pid).children():
        if WRITER_PROCESS_MODULE in child.cmdline():
            return child.pid
    return None


@dataclass
class Server:
    """One running ``bentoml serve`` of the comparison and the ``/proc`` stat files read around each slice."""

    served: ServedService
    log_on: bool
    spool: Path
    stats: dict[str, Path]


def start_server(load: bench.Workload, work: Path, log_on: bool, servers: list[ServedService]) -> Server:
    """A fresh server with the payload log on or off, ready; its worker, threads and writer process found."""
    label = "on" if log_on else "off"
    spool = work / f"spool-{label}"
    env = {
        "CREDIT_SCORING_SPOOL_DIR": str(spool),
        "CREDIT_SCORING_BUNDLE_TAG": load.tag,
        "CREDIT_SCORING_PAYLOAD_LOG_ENABLED": "true" if log_on else "false",
    }
    served = ServedService(load.home, env, work / f"{label}.log")
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
    process = writer_process_pid(worker)
    if log_on and process is None:
        raise RuntimeError("payload log on but no writer process under the worker")
    if process is not None:
        stats["process"] = Path(f"/proc/{process}/stat")
    return Server(served, log_on, spool, stats)


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
    bench.add_workload_arguments(parser)
    args = parser.parse_args()
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
        print(
            "in process, one-row records: submit {submit_us:.2f} us, writer thread (drain + pickle) "
            "{ship_cpu_us:.2f} us, writer process (format + write) {format_and_write_cpu_us:.1f} us CPU per "
            "record; {frame_bytes_per_record:.0f} frame bytes per record".format(**results["in_process"]),
            flush=True,
        )
        lua = bench.lua_script(work / "single.lua", "/score", [json.dumps(a) for a in load.single])
        both = {log_on: start_server(load, work, log_on, servers) for log_on in (True, False)}
        for server in both.values():
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
            f"{'worker us':>9} {'main us':>8} {'writer us':>9} {'writer %':>8} {'process us':>10} "
            f"{'non2xx':>6}",
            flush=True,
        )
        for pair in range(1, args.pairs + 1):
            order = (True, False) if pair % 2 else (False, True)
            for log_on in order:
                r = run_slice(both[log_on], lua, args.duration)
                r.update(pair=pair, log_on=log_on)
                rounds.append(r)
                writer_us = f"{r['writer_cpu_us_per_request']:9.1f}" if log_on else f"{'-':>9}"
                share = f"{r['writer_share_of_worker']:8.1%}" if log_on else f"{'-':>8}"
                process_us = f"{r['process_cpu_us_per_request']:10.1f}" if log_on else f"{'-':>10}"
                print(
                    f"{pair:>4} {'on' if log_on else 'off':<4} {r['loadavg_1min_at_start']:5.2f} "
                    f"{r['rps']:7.0f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} {r['cpu_us_per_request']:8.0f} "
                    f"{r['worker_cpu_us_per_request']:9.0f} {r['main_cpu_us_per_request']:8.0f} {writer_us} "
                    f"{share} {process_us} {r['non_2xx']:6.0f}",
                    flush=True,
                )
        for log_on, server in both.items():
            server.served.stop()  # graceful: the payload log flushes and closes its segments
            results[f"spool_records_{'on' if log_on else 'off'}"] = spool_records(server.spool)
        print(
            f"spool records after stopping: log on {results['spool_records_on']} (every request, warm-up "
            f"included: {sum(r['requests'] for r in rounds if r['log_on']):.0f} measured), "
            f"log off {results['spool_records_off']}",
            flush=True,
        )
        results["uptime_end"] = uptime()
        results["wall_s"] = time.monotonic() - started
        results["summary"] = summarise(rounds, results["in_process"])
        report(results)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))


def summarise(rounds: list[dict], in_process: dict[str, float]) -> dict[str, float]:
    """Medians over slices and over per-pair on/off ratios."""
    on = {r["pair"]: r for r in rounds if r["log_on"]}
    off = {r["pair"]: r for r in rounds if not r["log_on"]}
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
        "median_process_cpu_us": med([on[p]["process_cpu_us_per_request"] for p in pairs]),
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
    """Print the medians and ratios against the 5 % target."""
    s = results["summary"]
    print(f"\nmodel: {results['model']}")
    print(f"uptime at start: {results['uptime_start']}\nuptime at end:   {results['uptime_end']}")
    print(f"wall time {results['wall_s']:.0f} s")
    on = {r["pair"]: r for r in results["rounds"] if r["log_on"]}
    off = {r["pair"]: r for r in results["rounds"] if not r["log_on"]}
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
        f"{s['median_writer_share_of_worker']:.1%} of the worker's CPU (in process: drain + pickle "
        f"{ip['ship_cpu_us']:.2f} us per record); request path (submit, in process) {ip['submit_us']:.2f} us"
    )
    print(
        f"writer process (off the worker): median {s['median_process_cpu_us']:.1f} us per request "
        f"(in process: format + write {ip['format_and_write_cpu_us']:.1f} us per record)"
    )
    print(
        f"estimated payload-log cost, (writer + submit) / worker CPU with the log off: "
        f"{s['estimated_cost_share_of_worker']:.1%} (target <= 5 %)"
    )


if __name__ == "__main__":
    main()
