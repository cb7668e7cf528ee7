"""The analysis agent: weighs a research report's findings (research-pipeline, stage 2)."""
