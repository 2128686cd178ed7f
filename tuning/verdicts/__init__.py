"""What the records say: the ranking, the pick and its stated score, the folk rules, warnings."""
