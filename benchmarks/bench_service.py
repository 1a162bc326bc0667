"""Benchmark the scoring service against the limit and the original project's style, in one run.

Configurations (same tiny model, same applicants, same load generator: wrk, 8 connections, 2 threads),
run back to back in each round:

(a)  this service under ``bentoml serve``, front door on (default), payload log on
(a0) the same, payload log off (the payload log's cost)
(am) the same with ``CREDIT_SCORING_FRONT_DOOR=false``: /score through BentoML's middleware stack
(b)  bare Starlette + ``Booster.predict(num_threads=1)`` on a numpy row (uvicorn, 1 worker): the limit

then once: (a) and (b) with 2 workers each; (c) FastAPI + pydantic + pandas + scikit-learn
``Pipeline.predict_proba``; batches of 1,000 at 2 connections (applicant objects and the columnar form)
in rows/s vs in-process ``Booster.predict``; ``explain: 3`` and ``/explain`` at 1 connection vs in-process
``pred_contrib`` on one row. Needs ``wrk`` (Debian package) on PATH.

    .venv/bin/python benchmarks/bench_service.py [--duration 8] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.service.serving import ServedService, free_port  # noqa: E402
from tests.service.tiny_bundle import (  # noqa: E402
    TINY_FEATURES,
    applicant_payloads,
    default_target,
    generate_applicants,
    make_tiny_bundle,
)

NAMES = [f.name for f in TINY_FEATURES]
UVICORN = str(Path(sys.executable).with_name("uvicorn"))


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def wrk(
    url: str, lua: Path, *, connections: int, duration_s: int, server_pid: int, threads: int = 2
) -> dict[str, float]:
    """Run wrk; return requests/s, p50/p99 latency in ms, non-2xx answers and server CPU per request.

    CPU per request (all server processes, user + system) is what the server would need on an idle machine;
    unlike throughput it barely changes when other jobs share the cores.
    """
    cpu_before = tree_cpu_s(server_pid)
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{duration_s}s",
            "--latency",
            "-s",
            str(lua),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration_s + 60,
    ).stdout

    def latency_ms(percent: str) -> float:
        value, unit = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "cpu_us_per_request": (tree_cpu_s(server_pid) - cpu_before) / max(requests, 1) * 1e6,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
    }


def lua_script(path: Path, route: str, bodies: list[str]) -> Path:
    """A wrk script that POSTs ``bodies`` in turn to ``route``."""
    quoted = ",\n".join("[==[" + b + "]==]" for b in bodies)
    path.write_text(
        "local bodies = {\n" + quoted + "\n}\n"
        "local i = 0\n"
        'local headers = {["Content-Type"] = "application/json"}\n'
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        f'  return wrk.format("POST", "{route}", headers, bodies[i])\n'
        "end\n"
    )
    return path


def in_process(model_txt: str, batch: np.ndarray, row: np.ndarray) -> dict[str, float]:
    """In-process reference numbers: rows/s for a 1,000-row batch, p50 of one-row predict and pred_contrib."""
    from service.lgb import import_lightgbm

    booster = import_lightgbm().Booster(model_str=model_txt)

    def p50_ms(fn, n: int) -> float:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    batch_ms = p50_ms(lambda: booster.predict(batch, num_threads=1), 200)
    batch_ms_mt = p50_ms(lambda: booster.predict(batch), 200)
    return {
        "batch_rows_per_s_1thread": 1000 / (batch_ms / 1000),
        "batch_rows_per_s_all_threads": 1000 / (batch_ms_mt / 1000),
        "predict_one_p50_ms": p50_ms(lambda: booster.predict(row, num_threads=1), 2000),
        "pred_contrib_one_p50_ms": p50_ms(
            lambda: booster.predict(row, pred_contrib=True, num_threads=1), 2000
        ),
    }


class Uvicorn:
    """A reference app under uvicorn (no access log) on 127.0.0.1."""

    def __init__(self, factory: str, env: dict[str, str], log: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                UVICORN,
                "--factory",
                factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--workers",
                str(workers),
            ],
            cwd=REPO_ROOT / "benchmarks",
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise TimeoutError(f"{factory} did not start")

    def stop(self) -> None:
        """Terminate the server."""
        self.process.terminate()
        self.process.wait(20)
        self._log.close()


def main() -> None:
    """Run every configuration back to back and print throughput, latency, CPU per request and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the single-applicant comparison")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")

    work = Path(tempfile.mkdtemp(prefix="bench_service_"))
    results: dict[str, object] = {"duration_s": args.duration, "connections": 8}
    servers: list = []
    try:
        bundle = make_tiny_bundle()
        bundle_dir = bundle.save(work / "bundle")
        (work / "model.txt").write_text(bundle.booster_text)
        home = work / "home"
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"from service.bundle import Bundle, register; register(Bundle.load({str(bundle_dir)!r}))",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "True"},
            check=True,
        )
        # (c)'s pipeline: same data, same LightGBM parameters, behind a median imputer
        import lightgbm
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline

        frame = generate_applicants(3000, 0)[NAMES].astype(float)
        target = default_target(frame, np.random.default_rng(1))
        pipeline = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            lightgbm.LGBMClassifier(
                n_estimators=40, num_leaves=15, learning_rate=0.1, verbose=-1, random_state=0
            ),
        ).fit(frame, target)
        (work / "pipeline.pkl").write_bytes(pickle.dumps(pipeline))
        ref_env = {
            "BENCH_MODEL_TXT": str(work / "model.txt"),
            "BENCH_PIPELINE_PKL": str(work / "pipeline.pkl"),
            "BENCH_FEATURES": ",".join(NAMES),
            "PYTHONPATH": str(REPO_ROOT / "benchmarks"),
        }

        applicants = applicant_payloads(200, seed=11)
        single = lua_script(work / "single.lua", "/score", [json.dumps(a) for a in applicants])
        batch_applicants = applicant_payloads(1000, seed=12)
        batch = lua_script(work / "batch.lua", "/score", [json.dumps({"applicants": batch_applicants})])
        columns = ["id", *NAMES]
        rows = [[a["id"], *(a["features"].get(n) for n in NAMES)] for a in batch_applicants]
        columnar = lua_script(
            work / "columnar.lua", "/score", [json.dumps({"columns": columns, "rows": rows})]
        )
        explain = lua_script(
            work / "explain.lua", "/score", [json.dumps({**a, "explain": 3}) for a in applicants]
        )
        full_explain = lua_script(work / "full_explain.lua", "/explain", [json.dumps(a) for a in applicants])

        def service(label: str, env: dict[str, str]) -> ServedService:
            served = ServedService(
                home, {"CREDIT_SCORING_SPOOL_DIR": str(work / f"spool-{label}"), **env}, work / f"{label}.log"
            )
            servers.append(served)
            served.wait_ready()
            return served

        def bare(workers: int = 1) -> Uvicorn:
            server = Uvicorn("reference_apps:bare_starlette_app", ref_env, work / "bare.log", workers=workers)
            servers.append(server)
            return server

        def run(label: str, server, lua: Path, connections: int = 8) -> dict[str, float]:
            url, pid = server.url, server.process.pid
            measured = wrk(url, lua, connections=connections, duration_s=args.duration, server_pid=pid)
            print(
                f"{label:<46} {measured['rps']:>9.0f} req/s  p50 {measured['p50_ms']:7.2f} ms  "
                f"p99 {measured['p99_ms']:7.2f} ms  CPU/req {measured['cpu_us_per_request']:6.0f} us  "
                f"non-2xx {measured['non_2xx']:.0f}",
                flush=True,
            )
            results[label] = measured
            return measured

        X = generate_applicants(1000, 12)[NAMES].astype(float).to_numpy()
        results["in_process"] = in_process(bundle.booster_text, X, X[:1])
        print(json.dumps(results["in_process"], indent=1), flush=True)

        for r in range(1, args.rounds + 1):
            svc = service(f"svc{r}", {})
            run(f"r{r} (a) front door, payload log on", svc, single)
            if r == 1:
                run("(a) batch 1000 applicants, 2 conns", svc, batch, connections=2)
                run("(a) batch 1000 columnar, 2 conns", svc, columnar, connections=2)
                run("(a) explain:3 on /score, 1 conn", svc, explain, connections=1)
                run("(a) /explain (explainer service), 1 conn", svc, full_explain, connections=1)
            svc.stop()
            svc_off = service(f"svc_off{r}", {"CREDIT_SCORING_PAYLOAD_LOG_ENABLED": "false"})
            run(f"r{r} (a0) front door, payload log off", svc_off, single)
            svc_off.stop()
            mounted = service(f"mounted{r}", {"CREDIT_SCORING_FRONT_DOOR": "false"})
            run(f"r{r} (am) no front door (BentoML stack)", mounted, single)
            if r == 1:
                run("(am) batch 1000 applicants, 2 conns", mounted, batch, connections=2)
            mounted.stop()
            reference = bare()
            run(f"r{r} (b) bare Starlette + Booster", reference, single)
            if r == 1:
                run("(b) batch 1000 applicants, 2 conns", reference, batch, connections=2)
                run("(b) pred_contrib over HTTP, 1 conn", reference, full_explain, connections=1)
            reference.stop()
        svc2 = service("svc_2w", {"CREDIT_SCORING_WORKERS": "2"})
        run("(a) front door, 2 workers", svc2, single)
        run("(a) 2 workers, batch 1000 columnar, 2 conns", svc2, columnar, connections=2)
        svc2.stop()
        reference2 = bare(workers=2)
        run("(b) bare, 2 workers", reference2, single)
        reference2.stop()
        fast = Uvicorn("reference_apps:fastapi_sklearn_app", ref_env, work / "fastapi.log")
        servers.append(fast)
        run("(c) FastAPI + sklearn pipeline", fast, single)
        fast.stop()
        report(results, args.rounds)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict, rounds: int) -> None:
    """Print the ratios the targets of issue 3 are stated in."""
    print("\nratios (same run):")
    for r in range(1, rounds + 1):
        a = results[f"r{r} (a) front door, payload log on"]
        off = results[f"r{r} (a0) front door, payload log off"]
        am = results[f"r{r} (am) no front door (BentoML stack)"]
        b = results[f"r{r} (b) bare Starlette + Booster"]
        print(
            f"  round {r}: throughput a/b {a['rps'] / b['rps']:.2f} (target >= 0.5), "
            f"p99 a/b {a['p99_ms'] / b['p99_ms']:.2f} (target <= 3), "
            f"payload-log cost {1 - a['rps'] / off['rps']:+.1%} (target <= 5 %), "
            f"front door speed-up {a['rps'] / am['rps']:.2f}x"
        )
        print(
            f"           CPU per request a/b {a['cpu_us_per_request'] / b['cpu_us_per_request']:.2f} "
            f"(idle-machine throughput ratio ~ {b['cpu_us_per_request'] / a['cpu_us_per_request']:.2f}); "
            f"payload-log CPU cost {a['cpu_us_per_request'] / off['cpu_us_per_request'] - 1:+.1%}; "
            f"no front door {am['cpu_us_per_request']:.0f} us"
        )
    a2, b2 = results["(a) front door, 2 workers"], results["(b) bare, 2 workers"]
    print(
        f"  2 workers: throughput a/b {a2['rps'] / b2['rps']:.2f}, "
        f"p99 a/b {a2['p99_ms'] / b2['p99_ms']:.2f}, "
        f"CPU per request a/b {a2['cpu_us_per_request'] / b2['cpu_us_per_request']:.2f}"
    )
    ip = results["in_process"]
    for label in (
        "(a) batch 1000 applicants, 2 conns",
        "(a) batch 1000 columnar, 2 conns",
        "(a) 2 workers, batch 1000 columnar, 2 conns",
        "(am) batch 1000 applicants, 2 conns",
        "(b) batch 1000 applicants, 2 conns",
    ):
        rows_http = results[label]["rps"] * 1000
        print(
            f"  {label}: {rows_http:.0f} rows/s vs in-process 1 thread {ip['batch_rows_per_s_1thread']:.0f}: "
            f"{rows_http / ip['batch_rows_per_s_1thread']:.2f} (target >= 0.7)"
        )
    contrib = ip["pred_contrib_one_p50_ms"]
    bare_http = results["(b) pred_contrib over HTTP, 1 conn"]["p50_ms"]
    for label in ("(a) explain:3 on /score, 1 conn", "(a) /explain (explainer service), 1 conn"):
        p50 = results[label]["p50_ms"]
        print(
            f"  {label}: p50 {p50:.3f} ms vs in-process pred_contrib {contrib:.3f} ms: {p50 / contrib:.1f}x "
            f"(target <= 1.5); vs (b) pred_contrib over HTTP {bare_http:.3f} ms: {p50 / bare_http:.2f}x"
        )
    c = results["(c) FastAPI + sklearn pipeline"]
    a1 = results["r1 (a) front door, payload log on"]
    print(
        f"  service vs FastAPI+sklearn: throughput {a1['rps'] / c['rps']:.1f}x, "
        f"CPU per request {c['cpu_us_per_request'] / a1['cpu_us_per_request']:.1f}x lower"
    )


if __name__ == "__main__":
    main()
