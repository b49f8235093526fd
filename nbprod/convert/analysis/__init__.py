"""Per-cell facts from libcst metadata, and the notebook's cross-cell dependencies.

Pure: normalised cells in, facts out. One module per question: ``kinds`` (what each
statement is, what is kept), ``scope`` (names read, defined, used), ``resolve``
(qualified names and types), ``dataflow`` (mutations, deletions, calls of helpers),
``signals`` (stages), ``effects`` (files, plots, clock, rows), ``literals`` (config
values), ``randomness`` (unseeded draws), ``predictors``, ``metric_calls`` (what
the notebook measures); ``cell`` runs them together in one traversal and
``notebook`` over every cell.
"""

from nbprod.convert.analysis.facts import (
    CellFacts,
    Dropped,
    Flow,
    Helper,
    Import,
    Literal,
    MetricCall,
    NameCall,
    ParsedCell,
    Prediction,
    Reference,
    RowChange,
    RowFlow,
    Signal,
    Statement,
)
from nbprod.convert.analysis.imports import collect_imports
from nbprod.convert.analysis.nodes import (
    descendants,
    name_nodes,
    names_in,
    statement_index,
)
from nbprod.convert.analysis.notebook import analyse_notebook
from nbprod.convert.analysis.parse import check_syntax, parse_cell
from nbprod.convert.analysis.scope import global_references

__all__ = [
    "CellFacts",
    "Dropped",
    "Helper",
    "Import",
    "Literal",
    "MetricCall",
    "NameCall",
    "ParsedCell",
    "Prediction",
    "Reference",
    "Signal",
    "Statement",
    "Flow",
    "RowChange",
    "RowFlow",
    "analyse_notebook",
    "check_syntax",
    "collect_imports",
    "descendants",
    "global_references",
    "name_nodes",
    "names_in",
    "parse_cell",
    "statement_index",
]
