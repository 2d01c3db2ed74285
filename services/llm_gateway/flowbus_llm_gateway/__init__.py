"""flowbus llm-gateway: bring-your-own-key access to LLM providers, routing and cost."""
