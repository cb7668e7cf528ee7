"""Calling models: providers, deployments and their fallback chains, retries, breakers,
prices and the context window."""

__all__: list[str] = []
