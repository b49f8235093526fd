"""The fixed environment the golden trees are converted with."""

from __future__ import annotations

from nbprod.convert.environment import Environment

# The versions and date a conversion uses when a test must not depend on the machine
# (the golden trees): fixed values, not what is installed here. Every top-level module
# the example notebooks import has its distribution; a new one is left unpinned.
FIXED_ENVIRONMENT = Environment(
    python="3.11",
    nbprod="0.1.0",
    distributions={
        "joblib": "joblib",
        "matplotlib": "matplotlib",
        "numpy": "numpy",
        "pandas": "pandas",
        "pandera": "pandera",
        "sklearn": "scikit-learn",
        "yaml": "PyYAML",
    },
    versions={
        "PyYAML": "6.0.4",
        "black": "26.10.1",
        "joblib": "1.6.0",
        "matplotlib": "3.11.2",
        "numpy": "2.4.6",
        "pandas": "3.1.1",
        "pandera": "0.35.0",
        "pytest": "9.2.0",
        "ruff": "0.17.6",
        "scikit-learn": "1.9.1",
    },
)
