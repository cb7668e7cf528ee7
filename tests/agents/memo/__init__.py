"""Test agent with the remember tool (sessions and memory)."""
