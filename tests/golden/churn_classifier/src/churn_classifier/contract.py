"""The data contract of churn_classifier: what the rows ``predict`` and ``serve``
score must hold, checked before the model sees them.

There is none: it is inferred when nbprod validates the conversion (converted
with --no-validate). Rows are scored as they come.
"""

from __future__ import annotations

import pandera.pandas as pa

# The input files (config keys) that hold these columns: the pipeline checks them
# before a stage reads them, so a changed file stops it before anything is fitted.
CHECKED_FILES: tuple[str, ...] = ()


def schema(tolerance: float) -> pa.DataFrameSchema | None:
    """The contract, numbers' ranges widened by ``tolerance`` of their width."""
    return None
