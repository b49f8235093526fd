"""What nbprod's tests share, one module per question: ``paths`` (the
examples, golden trees, cases), ``notebooks`` (built in code; the case format),
``cli`` and ``project`` (the real commands, run as their users run them),
``shared`` (conversions made once per session), ``build`` (the pure steps in
process), ``environment`` (the golden trees' fixed environment),
``docs_commands`` (the shell sessions the docs show), ``tamper``."""
