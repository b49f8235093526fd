"""Assign every code cell a stage (or an exclusion) with the reason, and work out
each stage's inputs, outputs and config values.

Pure: facts in, a :class:`nbprod.plan.Plan` out. The rules are DESIGN.md's "Stage assignment":
``cells`` places cells and helpers, ``dataflow`` finds what each stage takes and
returns, ``params`` lifts config values, ``serving`` finds how new rows are scored,
``figures`` where the figures the notebook draws are saved, and ``planner`` puts
them together.
"""

from nbprod.convert.plan.names import package_name, safe_identifier
from nbprod.convert.plan.planner import build_plan

__all__ = ["build_plan", "package_name", "safe_identifier"]
