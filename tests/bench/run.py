"""`make bench`: measure, print, and write the figures (with machine and date) into the README."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.store import open_store
from tests.bench import (
    executor_bench,
    finance_bench,
    gateway_bench,
    governance_bench,
    kafka_roundtrip,
    orchestrator_bench,
    store_appends,
    system_bench,
)
from tests.bench.stats import ms, replace_block
from tests.support.infra import create_pg_database, drop_pg_database, require_kafka

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}"


async def measure() -> list[str]:
    settings = FlowbusSettings(kafka_bootstrap_servers=require_kafka(), topic_partitions=6)
    rows = ["| what | figure |", "| --- | --- |"]
    wrapper = await kafka_roundtrip.through_wrapper(settings, sequential=500, burst=5000)
    raw = await kafka_roundtrip.through_aiokafka(settings, sequential=500, burst=5000)
    raw_each = await kafka_roundtrip.through_aiokafka(
        settings, sequential=200, burst=2000, commit_every_message=True
    )
    for name, figures in (
        ("flowbus bus (FastStream consumers, aiokafka producer), commits every 100 ms", wrapper),
        ("raw aiokafka, commits every 100 ms", raw),
        ("raw aiokafka, a commit per message", raw_each),
    ):
        rows.append(
            f"| Kafka produce -> consume, {name}: p50 / p99 | {ms(figures['p50'])} / {ms(figures['p99'])} |"
        )
        rows.append(f"| Kafka throughput, {name} | {figures['msgs_per_s']:,.0f} msgs/s |")
    name, url = await create_pg_database()
    try:
        store = await open_store(url)
        single = await store_appends.appends(store, 3000, writers=1)
        concurrent = await store_appends.appends(store, 6000, writers=8)
        batched = await store_appends.batched(store, 50)
        await store.close()
        rows.append(
            f"| PostgreSQL append, 1 writer: rate, p50 / p99 | {single['per_s']:,.0f}/s, "
            f"{ms(single['p50'])} / {ms(single['p99'])} |"
        )
        rows.append(
            f"| PostgreSQL append, 8 writers: rate, p50 / p99 | {concurrent['per_s']:,.0f}/s, "
            f"{ms(concurrent['p50'])} / {ms(concurrent['p99'])} |"
        )
        rows.append(f"| PostgreSQL append, 100 streams per transaction | {batched['per_s']:,.0f} events/s |")
        cost = orchestrator_bench.decision_cost()
        rows.append(f"| orchestrator decision per step, CPU (live state) | {cost['decide_us']:.0f} µs |")
        rows.append(
            f"| orchestrator decision per step, CPU (fold the log first) | {cost['fold_and_decide_us']:.0f} µs |"
        )
        flow = await orchestrator_bench.through_kafka(settings, url, burst=300, sequential=50)
        rows.append(
            f"| 3-step no-op workflow through Kafka + PostgreSQL, saturated | "
            f"{flow['workflows_per_s']:,.1f} workflows/s ({flow['steps_per_s']:,.0f} steps/s) |"
        )
        rows.append(
            f"| 3-step workflow, one at a time: p50 / p99 | {ms(flow['workflow_p50'])} / "
            f"{ms(flow['workflow_p99'])} |"
        )
        rows.append(
            f"| step hop (schedule -> executor -> result -> next schedule): p50 / p99 | "
            f"{ms(flow['hop_p50'])} / {ms(flow['hop_p99'])} |"
        )
        for label, in_flight, figures in await executor_bench.executor_figures(settings, url):
            rows.append(
                f"| executor, {label}, {in_flight} in flight: steps/s, p99 | "
                f"{figures['steps_per_s']:,.0f}/s, {ms(figures['p99'])} |"
            )
        rows += await finance_bench.finance_rows(url)
        rows += await governance_bench.governance_figures(settings, url)
        rows += gateway_rows(await gateway_bench.gateway_figures(settings, url))
        rows += system_bench.system_rows(await system_bench.system_figures(require_kafka(), url))
    finally:
        await drop_pg_database(name)
    return rows


def gateway_rows(figures: dict[str, Any]) -> list[str]:
    direct = figures["direct"]
    rows = [
        f"| LLM double called directly, one at a time: p50 / p99; 32 in flight | "
        f"{ms(direct['p50'])} / {ms(direct['p99'])}; {direct['per_s']:,.0f} req/s |"
    ]
    for key, label in (("gateway", "flowbus llm-gateway (HTTP)"), ("litellm", "LiteLLM proxy (HTTP)")):
        found = figures.get(key)
        if isinstance(found, str) or found is None:
            rows.append(f"| {label} | not measured: {found} |")
            continue
        rows.append(
            f"| {label}: added latency p50 / p99 over the double; 32 in flight | "
            f"+{ms(found['p50'] - direct['p50'])} / +{ms(found['p99'] - direct['p99'])}; "
            f"{found['per_s']:,.0f} req/s |"
        )
    kafka = figures["kafka"]
    rows.append(
        f"| flowbus llm-gateway (Kafka llm_completion steps): p50 / p99 one at a time; saturated | "
        f"{ms(kafka['p50'])} / {ms(kafka['p99'])}; {kafka['per_s']:,.0f} steps/s |"
    )
    return rows


async def measure_only(part: str) -> list[str]:
    settings = FlowbusSettings(kafka_bootstrap_servers=require_kafka(), topic_partitions=6)
    name, url = await create_pg_database()
    try:
        if part == "governance":
            rows = await governance_bench.governance_figures(settings, url)
        elif part == "finance":
            rows = await finance_bench.finance_rows(url)
        elif part == "system":
            rows = system_bench.system_rows(await system_bench.system_figures(require_kafka(), url))
        else:
            rows = gateway_rows(await gateway_bench.gateway_figures(settings, url))
        return ["| what | figure |", "| --- | --- |", *rows]
    finally:
        await drop_pg_database(name)


def write_readme(path: Path, rows: list[str]) -> None:
    stamp = f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; Kafka and PostgreSQL on the same machine."
    replace_block(path, START, END, [stamp, "", *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", type=Path, help="write the figures into this README")
    parser.add_argument(
        "--only",
        choices=["gateway", "governance", "finance", "system"],
        help="measure one part (printed only)",
    )
    args = parser.parse_args()
    if args.only:
        print("\n".join(asyncio.run(measure_only(args.only))))
        return
    rows = asyncio.run(measure())
    print("\n".join(rows))
    if args.readme:
        write_readme(args.readme, rows)
        print(f"written to {args.readme}")


if __name__ == "__main__":
    main()
