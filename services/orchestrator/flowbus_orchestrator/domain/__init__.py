"""The orchestrator's pure core: definitions, state as a fold of events, and decide()."""
