"""``nbprod lint``: notebook habits that block production, and ruff's findings.

``core`` reads the config, runs the rules and ruff, caches and reports; ``rules``
holds the NBP rules (a fast ``ast`` walk).
"""
