"""flowbus executor: runs integration, data, finance and agent steps from `steps.executor`."""
