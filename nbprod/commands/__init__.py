"""What the CLI's commands run, above the packages they use: ``convert``
analyses, plans, generates, validates (``nbprod.validate``), adds orchestration
(``nbprod.export``) and writes; no package below imports from here."""
