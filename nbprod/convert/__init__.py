"""``nbprod convert``: a notebook into a project.

    load -> normalise -> analyse -> plan -> generate -> render -> format -> write

``build`` runs the steps; ``normalise`` (with ``history``, ``edits``) turns IPython
syntax into Python; ``analyse`` finds each cell's facts; ``versions`` names what is
defined twice; ``plan`` decides stages, outputs, config and the serving path;
``generate`` writes the stage modules; ``render`` the templated files; ``format``
runs ruff and black; ``write`` puts the tree in place.
"""
