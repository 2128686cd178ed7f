"""Running trials: worker processes, memory budgets, failure classification and the search loop."""
