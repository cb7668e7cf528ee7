"""The agent as a reducer over the journal: steps, turns, budgets, spend and the sweeper."""

__all__: list[str] = []
