"""Celery entry points: the app and thin tasks that hand straight to ``orchestration``."""

__all__: list[str] = []
