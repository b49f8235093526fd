"""``nbprod validate``: the equivalence proof.

``proof`` runs both sides and judges; ``execute`` runs the notebook (a sandbox, a
real kernel) and the pipeline (through ``driver``, in its own process); ``compare``
compares values and ``printed`` printed output; ``characterize`` and ``card`` turn
the notebook's values into tests and the model card.

Kept light: ``python -m nbprod.validate.driver`` imports this package first.
"""
