"""The report writer: turns an analysis into a short report (research-pipeline, stage 3)."""
