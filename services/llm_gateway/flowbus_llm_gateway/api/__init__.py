"""The llm-gateway's HTTP API: OpenAI-compatible chat and models, and the management routes."""
