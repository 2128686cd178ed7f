"""The folk-rule study behind docs/findings.md: a tool of the repository, not of the package.

It generates data where overfitting can happen, runs searches through `python -m tuning run`
(so every run resumes like any search), measures the runs' tables, judges each claim with
`tuning.verdicts.rules.judge_rule` (the report's own judge) and writes the findings with their
figures.
"""
