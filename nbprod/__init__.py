"""nbprod: turn a proof-of-concept notebook into a production-shaped project."""

__version__ = "0.1.0"
