"""flowbus against Temporal, DBOS and Restate: run every engine's runner one after another on this
machine (each starts and stops its own engine), then write the side-by-side table into the README
and the latency-against-load plot beside it.

    python -m tests.bench.peers.compare [--quick] [--engines flowbus,temporal,...] [--readme README.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.peers.common import REPO, WORK
from tests.bench.stats import replace_block

ENGINES = ("flowbus", "temporal", "temporal-as-shipped", "dbos", "restate")
PEERS = ENGINES[1:]
# The Temporal dev server as it ships (SQLite in rollback-journal mode) next to the runner's default
# (WAL, much faster here): throughput workloads only.
VARIANTS = {"temporal-as-shipped": ("temporal", ["--sqlite-as-shipped", "--workloads", "linear,fanout"])}
LABELS = {
    "flowbus": "flowbus",
    "temporal": "Temporal (SQLite WAL)",
    "temporal-as-shipped": "Temporal (as shipped)",
    "dbos": "DBOS",
    "restate": "Restate",
}
START, END = "<!-- peers:start -->", "<!-- peers:end -->"
PLOT = REPO / "docs" / "bench" / "latency-against-load.png"


def runner_command(engine: str, out: Path, quick: bool) -> list[str] | str:
    """How to run one engine's runner; a reason string when it cannot run."""
    flags = ["--out", str(out), *(["--quick"] if quick else [])]
    if engine == "flowbus":
        return [sys.executable, "-m", "tests.bench.peers.flowbus.run", *flags]
    engine, extra = VARIANTS.get(engine, (engine, []))
    flags += extra
    folder = REPO / "tests" / "bench" / "peers" / engine
    install = next((p for p in (folder / "install.py", folder / "install.sh") if p.exists()), None)
    if install is None:
        return f"no installer in {folder.relative_to(REPO)}"
    step = ["bash", str(install)] if install.suffix == ".sh" else [sys.executable, str(install)]
    done = subprocess.run(step, cwd=REPO, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        return f"install failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
    python = WORK / engine / "venv" / "bin" / "python"
    return [str(python if python.exists() else sys.executable), str(folder / "run.py"), *flags]


def run_engine(engine: str, quick: bool) -> list[dict[str, Any]] | str:
    out = WORK / "results" / f"{engine}.json"
    out.unlink(missing_ok=True)
    command = runner_command(engine, out, quick)
    if isinstance(command, str):
        return command
    log = WORK / "results" / f"{engine}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with log.open("w") as handle:
        done = subprocess.run(command, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, timeout=3600)
    print(f"{engine}: exit {done.returncode} after {time.monotonic() - began:.0f} s (log {log})")
    if not out.exists():
        return f"the runner wrote no results (exit {done.returncode}; see {log.relative_to(REPO)})"
    results: list[dict[str, Any]] = json.loads(out.read_text())
    return results


def _figure(results: dict[str, Any], workload: str, metric: str) -> float | None:
    found = results.get(workload, {}).get("metrics", {}).get(metric)
    return float(found) if isinstance(found, int | float) and math.isfinite(found) else None


# (workload, metric, label, higher is better)
ROWS = (
    ("linear", "saturation_steps_per_s", "linear 10 steps: steps/s at saturation", True),
    ("linear", "p50_ms", "linear: end-to-end p50 at 50% load (ms)", False),
    ("linear", "p99_ms", "linear: end-to-end p99 at 50% load (ms)", False),
    ("fanout", "saturation_steps_per_s", "fan-out 20 / fan-in: steps/s at saturation", True),
    ("fanout", "p50_ms", "fan-out: end-to-end p50 at 50% load (ms)", False),
    ("fanout", "p99_ms", "fan-out: end-to-end p99 at 50% load (ms)", False),
    ("timers", "lateness_p50_ms", "1,000 timers of 1 s: lateness p50 (ms)", False),
    ("timers", "lateness_p99_ms", "timers: lateness p99 (ms)", False),
    ("approval", "event_to_resume_p50_ms", "approval: event -> resumed p50 (ms)", False),
    ("approval", "event_to_resume_p99_ms", "approval: event -> resumed p99 (ms)", False),
    ("crash", "resume_seconds", "crash (SIGKILL): restart -> all done (s)", False),
    ("crash", "duplicate_steps", "crash: step bodies run again (at least once)", False),
    ("crash", "duplicate_steps_new_attempt", "crash: re-runs under a new idempotency key", False),
    ("fork", "fork_seconds", "fork 100 failed executions at step 5 (s)", False),
)


def _shown(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def _ratio(flowbus: float | None, peer: float | None, higher_is_better: bool) -> str:
    """How many times better flowbus is (>1: flowbus better)."""
    if flowbus is None or peer is None or flowbus <= 0 or peer <= 0:
        return "n/a"
    ratio = flowbus / peer if higher_is_better else peer / flowbus
    return f"{ratio:.2f}x"


def table(by_engine: dict[str, dict[str, Any]]) -> list[str]:
    head = ["what", *(LABELS[e] for e in ENGINES), *(f"flowbus vs {LABELS[peer]}" for peer in PEERS)]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for workload, metric, label, higher in ROWS:
        values = {engine: _figure(by_engine.get(engine, {}), workload, metric) for engine in ENGINES}
        cells = [label, *(_shown(values[e]) for e in ENGINES)]
        cells += [_ratio(values["flowbus"], values[peer], higher) for peer in PEERS]
        rows.append("| " + " | ".join(cells) + " |")
    rows.append(
        "| fork: copied outputs correct | "
        + " | ".join(
            str(by_engine.get(e, {}).get("fork", {}).get("metrics", {}).get("copied_outputs_correct", "n/a"))
            for e in ENGINES
        )
        + " |"
        + " |" * len(PEERS)
    )
    return rows


def resources(by_engine: dict[str, dict[str, Any]]) -> list[str]:
    rows = [
        "| engine | process | CPU s per 1,000 steps | peak RSS (MB) | DB commits per step | WAL flushes per step |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for engine in ENGINES:
        linear = by_engine.get(engine, {}).get("linear", {})
        commits = linear.get("db_commits_per_step")
        syncs = linear.get("db_wal_syncs_per_step")
        for process, figures in linear.get("processes", {}).items():
            rows.append(
                f"| {engine} | {process} | {figures.get('cpu_s_per_1000_steps', float('nan')):.2f} | "
                f"{figures.get('peak_rss_mb', float('nan')):.0f} | "
                f"{'n/a' if commits is None else f'{commits:.2f}'} | "
                f"{'n/a' if syncs is None else f'{syncs:.2f}'} |"
            )
    return rows


def plot(by_engine: dict[str, dict[str, Any]], path: Path) -> bool:
    """p50 and p99 of the linear workload against the arrival rate, one line per engine."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    drawn = False
    for engine in ENGINES:
        curve = by_engine.get(engine, {}).get("linear", {}).get("metrics", {}).get("curve") or []
        points = sorted((p["rate_per_s"], p["p50_ms"], p["p99_ms"]) for p in curve)
        if not points:
            continue
        rates, p50, p99 = zip(*points, strict=True)
        label = LABELS[engine]
        line = axes.plot(rates, p50, marker="o", label=f"{label} p50")[0]
        axes.plot(rates, p99, marker="x", linestyle="--", color=line.get_color(), label=f"{label} p99")
        drawn = True
    if not drawn:
        plt.close(figure)
        return False
    axes.set_xlabel("arrival rate (executions of the 10-step workflow per second)")
    axes.set_ylabel("end-to-end latency (ms)")
    axes.set_yscale("log")
    axes.set_title(f"Latency against load, one machine ({os.cpu_count()} cores)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return True


def section(by_engine: dict[str, dict[str, Any]], failures: dict[str, str], plotted: bool) -> list[str]:
    versions = "; ".join(
        dict.fromkeys(
            f"{engine.split('-')[0]}: {next(iter(by_engine[engine].values())).get('version', '?')}"
            for engine in ENGINES
            if by_engine.get(engine)
        )
    )
    cpu = platform.processor() or platform.machine()
    stamp = f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, one run, on {os.cpu_count()} cores ({cpu}); {versions}."
    lines = [START, stamp, "", *table(by_engine), "", *resources(by_engine)]
    notes = [f"- {engine}: not measured: {reason}" for engine, reason in failures.items()]
    notes.append(
        "- How each figure was taken (what was metered, killed, counted) is in each result's `notes`: "
        "`.local/peers/results/<engine>.json` after a run, and `tests/bench/peers/README.md`."
    )
    if notes:
        lines += ["", *notes]
    if plotted:
        lines += ["", f"![latency against load]({PLOT.relative_to(REPO)})"]
    return [*lines, END]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, for trying the set-up")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--from-results", action="store_true", help="write from the last results only")
    args = parser.parse_args()
    by_engine: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    for engine in args.engines.split(","):
        if args.from_results:
            saved = WORK / "results" / f"{engine}.json"
            outcome: list[dict[str, Any]] | str = (
                json.loads(saved.read_text()) if saved.exists() else "no saved results"
            )
        else:
            outcome = run_engine(engine, args.quick)
        if isinstance(outcome, str):
            failures[engine] = outcome
            continue
        by_engine[engine] = {result["workload"]: result for result in outcome}
    plotted = plot(by_engine, PLOT)
    lines = section(by_engine, failures, plotted)
    print("\n".join(lines))
    if args.readme:
        replace_block(args.readme, START, END, lines[1:-1])


if __name__ == "__main__":
    main()
