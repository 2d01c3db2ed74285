"""Step executors, one module per domain."""
