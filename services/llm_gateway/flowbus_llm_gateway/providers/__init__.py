"""Provider adapters over the providers' own wire formats (httpx, no SDKs)."""
