"""Topic creation through the Kafka admin client (brokers never auto-create them)."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from flowbus_shared.bus.security import client_options
from flowbus_shared.settings import FlowbusSettings
from flowbus_shared.topics import ALL_TOPICS

log = logging.getLogger("flowbus.bus")


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], within_seconds: float = 30.0
) -> None:
    """New partitions have no leader for a moment; producing then fails, so wait."""
    deadline = asyncio.get_running_loop().time() + within_seconds
    while True:
        described = await admin.describe_topics(names)
        if all(
            topic.get("error_code", 0) == 0
            and topic.get("partitions")
            and all(part.get("leader", -1) >= 0 for part in topic["partitions"])
            for topic in described
        ):
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics without partition leaders after {within_seconds} s: {names}")
        await asyncio.sleep(0.1)


async def ensure_topics(settings: FlowbusSettings, names: list[str] | None = None) -> list[str]:
    """Create the catalogue's topics that are missing; return the names created."""
    wanted = names if names is not None else [settings.topic(spec.suffix) for spec in ALL_TOPICS]
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.kafka_client_id}-admin",
        **client_options(settings),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    name=name,
                    num_partitions=settings.topic_partitions,
                    replication_factor=settings.topic_replication_factor,
                )
                for name in missing
            ]
        )
        created = []
        for name, code, *_ in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:
                raise RuntimeError(f"could not create topic {name}: Kafka error code {code}")
        if created:
            log.info("created topics: %s", ", ".join(created))
        await _wait_for_leaders(admin, missing)
        return created
    finally:
        await admin.close()
