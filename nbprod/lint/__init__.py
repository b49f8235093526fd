"""``nbprod lint``: notebook habits that block production, and ruff's findings.

``run`` goes from paths to a result; ``config`` reads ``[tool.nbprod.lint]`` and
the options, ``cache`` keeps findings per notebook content, ``ruff`` runs ruff,
``report`` formats the result; ``rules/`` holds the NBP rules, one module per rule
or family, over one fast ``ast`` walk of each cell.
"""
