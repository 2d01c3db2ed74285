"""flowbus_shared: the contracts and plumbing every flowbus service imports.

schemas (wire messages), topics (the catalogue), settings, bus (Kafka and
in-process), store (the event store) and telemetry.
"""

__version__ = "0.1.0"
