"""Property-based tests: no notebook and no cell source makes nbprod crash.

Generated inputs go through the read boundary (``decode``, ``parse_notebook``,
``notebook_json``, lint's per-file analysis), the conversion analysis
(``convert.analyse``) and the lint rules (``lint_rules.check_notebook``), in-process.
The property: each call returns, or raises :class:`nbprod.errors.NbprodError` with
a one-line message; any other exception (a traceback for the user) fails the test.
For Python sources CPython's ``compile()`` is the reference: a cell it rejects is
refused with a CellError naming the cell; a cell it accepts is never called a
syntax error.

Runs are deterministic (``derandomize=True``, no example database). The number of
examples each property ran is printed at the end of the module. Environment:
``NBPROD_HYPOTHESIS_EXAMPLES=N`` runs N examples per property instead of the
defaults below; ``NBPROD_HYPOTHESIS_SEED=S`` draws other examples (seed S).
"""

from __future__ import annotations

import codecs
import functools
import importlib
import json
import os
import re
import signal
import tempfile
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import hypothesis
import hypothesis.configuration
import hypothesis.strategies as st
import pytest
from hypothesis.errors import UnsatisfiedAssumption

from nbprod.commands.convert import analyse
from nbprod.errors import CellError, NbprodError
from nbprod.lint.noqa import noqa_codes
from nbprod.lint.rules import check_notebook
from nbprod.notebook import Notebook, decode, notebook_json, parse_notebook
from tests.helpers.cli import run_nbprod
from tests.helpers.environment import FIXED_ENVIRONMENT
from tests.helpers.notebooks import make_notebook

# Hypothesis caches what it learns (and writes patches for failures) in
# ./.hypothesis: keep the checkout clean.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    hypothesis.configuration.set_hypothesis_home_dir(
        Path(tempfile.gettempdir()) / "nbprod-hypothesis"
    )
# Imported after that: importing hypothesmith builds Hypothesis's unicode tables,
# and caches them on disk.
hypothesmith = importlib.import_module("hypothesmith")
HealthCheck = hypothesis.HealthCheck
given = hypothesis.given

PATH = "nb.ipynb"
# Generated code makes compile() warn ("'int' object is not callable; perhaps you
# missed a comma?") and IPython's tokenizer complain about odd line ends.
pytestmark = pytest.mark.filterwarnings(
    "ignore::SyntaxWarning", "ignore:`make_tokens_by_line`:UserWarning"
)
# A call that takes longer than this is reported as a hang.
HANG_SECONDS = 30

_EXAMPLES_OVERRIDE = os.environ.get("NBPROD_HYPOTHESIS_EXAMPLES")
_SEED = os.environ.get("NBPROD_HYPOTHESIS_SEED")

# ---------------------------------------------------------------------------
# settings and the example count

# test -> examples its body ran to the end / skipped (assume(): IPython syntax)
EXAMPLES_RUN: Counter[str] = Counter()
EXAMPLES_SKIPPED: Counter[str] = Counter()
# explicit risky inputs run through the CLI in a subprocess
IN_SUBPROCESS: Counter[str] = Counter()
# what the examples did: accepted, refused (by kind), lint findings...
OUTCOMES: Counter[str] = Counter()
# a few messages holding control characters (ESC, backspace, U+2028...): one
# line by the property above, but not plain text on a terminal; noted, not failed
ODD_MESSAGES: list[str] = []


def _settings(default: int) -> Callable:
    """Deterministic settings with ``default`` examples (or the override)."""
    examples = int(_EXAMPLES_OVERRIDE) if _EXAMPLES_OVERRIDE else default
    configured = hypothesis.settings(
        max_examples=examples,
        deadline=None,
        derandomize=_SEED is None,
        database=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    if _SEED is None:
        return configured

    def seeded(test: Callable) -> Callable:
        return hypothesis.seed(int(_SEED))(configured(test))

    return seeded


def counted(test: Callable) -> Callable:
    """Count the examples ``test`` ran (to the end) and skipped."""
    name = test.__name__.removeprefix("test_")

    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        try:
            test(*args, **kwargs)
        except UnsatisfiedAssumption:
            EXAMPLES_SKIPPED[name] += 1
            raise
        EXAMPLES_RUN[name] += 1

    return run


@pytest.fixture(scope="module", autouse=True)
def _report_examples(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    total = sum(EXAMPLES_RUN.values())
    per_test = ", ".join(f"{name} {n}" for name, n in sorted(EXAMPLES_RUN.items()))
    skipped = ", ".join(f"{k} {n}" for k, n in sorted(EXAMPLES_SKIPPED.items()))
    outcomes = ", ".join(f"{k} {n}" for k, n in sorted(OUTCOMES.items()))
    lines = [
        f"hypothesis examples run: {total} ({per_test})",
        f"explicit inputs run in a subprocess: {sum(IN_SUBPROCESS.values())}",
        f"examples skipped: {sum(EXAMPLES_SKIPPED.values())} ({skipped})",
        f"outcomes: {outcomes}",
        *(f"message with a control character: {m!r}" for m in ODD_MESSAGES),
    ]
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None:  # an xdist worker: printed, captured
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


class Hang(Exception):
    """A call ran longer than HANG_SECONDS."""


@contextmanager
def _no_hang(what: str) -> Iterator[None]:
    """Fail, rather than stall the run, when ``what`` takes too long."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(signum: int, frame: object) -> None:
        raise Hang(f"{what} ran over {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_one_line(exc: NbprodError) -> str:
    message = str(exc)
    assert message.strip(), f"empty message from {exc!r}"
    assert "\n" not in message and "\r" not in message, f"multi-line: {message!r}"
    if any(unicodedata.category(ch) in {"Cc", "Zl", "Zp"} for ch in message):
        OUTCOMES["message with a control character"] += 1
        if len(ODD_MESSAGES) < 3:
            ODD_MESSAGES.append(message)
    return message


def call(fn: Callable, *args: object) -> tuple[object, NbprodError | None]:
    """``fn(*args)``: its result, or the NbprodError it raised (checked: one line).
    Any other exception propagates and fails the test."""
    with _no_hang(fn.__name__):
        try:
            return fn(*args), None
        except NbprodError as exc:
            assert_one_line(exc)
            return None, exc


def _outcome(where: str, error: NbprodError | None) -> None:
    if error is None:
        OUTCOMES[f"{where} ok"] += 1
    else:
        OUTCOMES[f"{where} {type(error).__name__}"] += 1


# ---------------------------------------------------------------------------
# strategies: cell sources

# Built once: each from_grammar() call loads the grammar again (a third of a second).
# Its sources all compile() (hypothesmith filters with it). No auto-targeting:
# hill-climbing towards bigger programs makes long runs take hours.
python_from_grammar = hypothesmith.from_grammar(auto_target=False)

_PYTHON_BITS = [
    "import pandas as pd",
    "import numpy as np",
    "from sklearn.linear_model import LogisticRegression",
    "df = pd.read_csv('data/train.csv')",
    "df['a'] = df['b'] * 2",
    "model = LogisticRegression(C=0.5)",
    "model.fit(X, y)",
    "print(df.head())",
    "x = 1",
    "def f(a, b=2):\n    return a + b",
    "class A:\n    pass",
    "for i in range(3):\n    x += i",
    "# nbprod: training",
    "# nbprod: skip",
    "# nbprod: bogus",
    "token = 'ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2 + "'",
    "open('/home/ana/data.csv')",
    "from os import *",
    "x = 1  # nbprod: noqa NBP004",
]
_MAGIC_LINES = [
    "%time {expr}",
    "%timeit -n 3 -r 2 {expr}",
    "%timeit {expr}",
    "%prun -s cumulative {expr}",
    "%matplotlib inline",
    "%load_ext autoreload",
    "%autoreload 2",
    "%config InlineBackend.figure_format = 'retina'",
    "%pip install numpy",
    "%conda install -c conda-forge x",
    "!pip install pandas=={expr}",
    "!pip install $pkg",
    "!ls {expr}",
    "{name} = !ls",
    "{name} = %time {expr}",
    "{name}?",
    "{name}??",
    "?{name}",
    "%who",
    "%run other.py",
    "%store {name}",
    "%cd /tmp",
    "%env A=1",
    "%{name} {expr}",
    "%",
    "!",
    # what jupytext and `jupyter nbconvert --to script` write for magics
    "get_ipython().run_line_magic({arg}, {arg})",
    "get_ipython().run_line_magic({arg})",
    "get_ipython().system({arg})",
    "get_ipython().getoutput({arg})",
    "{name} = get_ipython().getoutput({arg})",
    "get_ipython().run_cell_magic({arg}, {arg}, {arg})",
]
_CELL_MAGICS = [
    "%%time",
    "%%timeit -n 1",
    "%%capture out",
    "%%prun",
    "%%bash",
    "%%html",
    "%%writefile f.py",
    "%%sql",
    "%%",
]
_exprs = st.sampled_from(["x", "f(x)", "model.fit(X, y)", "1 +", "(", "[i for i in y]"])
_names = st.sampled_from(["x", "df", "files", "_"]) | st.from_regex(
    r"\A[a-z_][a-z0-9_]{0,5}\Z"
)
_args = st.sampled_from(
    [
        "'matplotlib'",
        "'inline'",
        "'time'",
        "'pip install numpy'",
        "'ls'",
        "''",
        "cmd",
        "f'pip install {{pkg}}'",
        "1",
        "['a']",
        "'a' + 'b'",
    ]
)


@st.composite
def ipython_lines(draw: Callable) -> str:
    template = draw(st.sampled_from(_MAGIC_LINES))
    return template.format(expr=draw(_exprs), name=draw(_names), arg=draw(_args))


@st.composite
def ipython_sources(draw: Callable) -> str:
    """Python from the grammar mixed with IPython syntax, indented or not."""
    lines: list[str] = []
    if draw(st.integers(0, 3)) == 0:
        lines.append(draw(st.sampled_from(_CELL_MAGICS)))
    for _ in range(draw(st.integers(1, 5))):
        choice = draw(st.integers(0, 4))
        if choice == 0:
            lines.append(draw(python_from_grammar).rstrip("\n"))
        elif choice == 1:
            lines.append(draw(st.sampled_from(_PYTHON_BITS)))
        elif choice == 2:
            lines.append("for i in range(3):")
            lines.append("    " + draw(ipython_lines()))
        else:
            lines.append(draw(ipython_lines()))
    return "\n".join(lines)


# Plain Python that compile() may reject: grammar output, damaged.
_DAMAGE = [
    "(",
    ")",
    ":",
    "=",
    " = 1",
    "return 1",
    "yield x",
    "break",
    "continue",
    "nonlocal x",
    "global x",
    "await x",
    "async ",
    "lambda",
    "*",
    "**x",
    "\t",
    "  ",
    "'",
    '"""',
    "\\",
    "from __future__ import annotations",
    "from __future__ import braces",
    "__debug__ = 1",
    "del f()",
    "def f(a, a): pass",
    "[x async for x in y]",
    "f(**x, *y)",
    "\x00",
    "\x0c",
    "\u2028",
    "\ufeff",
]


@st.composite
def damaged_python(draw: Callable) -> str:
    source = draw(python_from_grammar)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(source)))
        if draw(st.booleans()) and at < len(source):
            source = source[:at] + source[at + 1 :]
        else:
            bit = draw(st.sampled_from(_DAMAGE) | st.text(max_size=3))
            if draw(st.booleans()):
                bit = "\n" + bit + "\n"
            source = source[:at] + bit + source[at:]
    return source


plain_python = st.one_of(python_from_grammar, damaged_python(), st.text(max_size=40))
code_text = st.one_of(
    st.sampled_from(_PYTHON_BITS),
    st.lists(st.sampled_from(_PYTHON_BITS), max_size=4).map("\n".join),
    ipython_sources(),
    plain_python,
)
_line_ends = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def source_field(draw: Callable, text: object = code_text) -> str | list[str]:
    """A cell source as a string or a list of lines, any line endings."""
    source = draw(text)
    end = draw(_line_ends)
    source = source.replace("\n", end)
    if draw(st.booleans()):
        return source.splitlines(keepends=True)
    return source


# ---------------------------------------------------------------------------
# strategies: JSON and notebooks

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_tags = st.lists(
    st.sampled_from(
        [
            "parameters",
            "nbprod:preprocessing",
            "nbprod:training",
            "nbprod:evaluation",
            "nbprod:skip",
            "nbprod:bogus",
            "nbprod:",
        ]
    )
    | st.text(min_size=1, max_size=10),
    max_size=3,
    unique=True,
)
cell_metadata = st.fixed_dictionaries(
    {},
    optional={
        "tags": _tags,
        "collapsed": st.booleans(),
        "scrolled": st.booleans() | st.just("auto"),
        "jupyter": st.fixed_dictionaries({}, optional={"source_hidden": st.booleans()}),
        "secret": st.just("AKIAIOSFODNN7EXAMPLE"),
    },
)
_texts = st.text(max_size=30) | st.lists(st.text(max_size=10), max_size=3)
_mime_bundle = st.fixed_dictionaries(
    {},
    optional={
        "text/plain": _texts,
        "text/html": _texts,
        "image/png": st.text("abcdefgh0123456789+/=", max_size=40),
        "application/json": st.dictionaries(st.text(max_size=5), json_values),
        "application/vnd.custom+json": st.dictionaries(
            st.text(max_size=5), json_values
        ),
    },
)
_counts = st.none() | st.integers(min_value=0, max_value=2**40)
outputs = st.one_of(
    st.fixed_dictionaries(
        {
            "output_type": st.just("stream"),
            "name": st.sampled_from(["stdout", "stderr"]),
            "text": _texts,
        }
    ),
    st.fixed_dictionaries(
        {
            "output_type": st.just("execute_result"),
            "execution_count": _counts,
            "data": _mime_bundle,
            "metadata": st.dictionaries(st.text(max_size=8), json_values, max_size=2),
        }
    ),
    st.fixed_dictionaries(
        {
            "output_type": st.just("display_data"),
            "data": _mime_bundle,
            "metadata": st.dictionaries(st.text(max_size=8), json_values, max_size=2),
        }
    ),
    st.fixed_dictionaries(
        {
            "output_type": st.just("error"),
            "ename": st.text(max_size=12),
            "evalue": st.text(max_size=30),
            "traceback": st.lists(st.text(max_size=20), max_size=3),
        }
    ),
)
_cell_ids = st.from_regex(r"\A[a-zA-Z0-9_-]{1,64}\Z")


@st.composite
def cells(draw: Callable, number: int) -> dict:
    """A schema-valid v4 cell (v4.5: with an id)."""
    cell_type = draw(st.sampled_from(["code", "code", "code", "markdown", "raw"]))
    cell: dict = {
        "id": f"{draw(_cell_ids)}-{number}"[-64:],
        "cell_type": cell_type,
        "metadata": draw(cell_metadata),
        "source": draw(source_field()),
    }
    if cell_type == "code":
        cell["execution_count"] = draw(_counts)
        cell["outputs"] = draw(st.lists(outputs, max_size=3))
    elif cell_type == "markdown" and draw(st.integers(0, 4)) == 0:
        cell["attachments"] = {
            "a.png": {"image/png": draw(st.text("abc012", max_size=10))}
        }
    return cell


_languages = st.sampled_from(
    ["python", "python3", "Python", "IPython3", "ipython", "R", "julia", "scala", ""]
) | st.text(max_size=12)
notebook_metadata = st.fixed_dictionaries(
    {},
    optional={
        "kernelspec": st.fixed_dictionaries(
            {
                "name": st.sampled_from(["python3", "ir", "a\nb"])
                | st.text(max_size=10),
                "display_name": st.text(max_size=10),
            },
            optional={"language": _languages},
        ),
        "language_info": st.fixed_dictionaries(
            {"name": _languages},
            optional={
                "version": st.text(max_size=6),
                "codemirror_mode": st.text(max_size=6)
                | st.dictionaries(st.text(max_size=5), json_values, max_size=2),
            },
        ),
        "title": st.text(max_size=10),
        "authors": st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=8)}), max_size=2
        ),
        "papermill": st.dictionaries(st.text(max_size=8), json_values, max_size=2),
    },
)


@st.composite
def notebooks(draw: Callable) -> dict:
    """Notebooks as Jupyter writes them (v4.0 to v4.5), with random cells and
    metadata: most pass nbformat's schema."""
    minor = draw(st.integers(0, 5))
    nb_cells = [draw(cells(i)) for i in range(draw(st.integers(0, 5)))]
    # ids are new in v4.5: older notebooks have none (mostly)
    if minor < 5 and not draw(st.sampled_from([False] * 9 + [True])):
        for cell in nb_cells:
            del cell["id"]
    return {
        "nbformat": 4,
        "nbformat_minor": minor,
        "metadata": draw(notebook_metadata),
        "cells": nb_cells,
    }


_versions = st.sampled_from([4, 3, 2, 1, 5, 0, -1, "4", 4.0, 4.5, True, None, 2**64])
_minors = st.sampled_from([0, 4, 5, 6, 99, -1, "5", None, 4.5, 2**64, False])


@st.composite
def versioned_notebooks(draw: Callable) -> dict:
    """A notebook with an odd nbformat or nbformat_minor (or both)."""
    nb = draw(notebooks())
    for key, values in (("nbformat", _versions), ("nbformat_minor", _minors)):
        if draw(st.booleans()):
            nb[key] = draw(values | json_values)
    return nb


@st.composite
def v3_notebooks(draw: Callable) -> dict:
    """Old (nbformat 3, worksheets) notebooks, which nbformat upgrades."""
    v3_cells = st.one_of(
        st.fixed_dictionaries(
            {
                "cell_type": st.just("code"),
                "input": source_field(),
                "language": _languages,
                "collapsed": st.booleans(),
                "metadata": cell_metadata,
                "outputs": st.lists(json_values, max_size=2),
            },
            optional={"prompt_number": _counts},
        ),
        st.fixed_dictionaries(
            {
                "cell_type": st.sampled_from(["markdown", "raw", "html"]),
                "source": source_field(),
                "metadata": cell_metadata,
            }
        ),
        st.fixed_dictionaries(
            {
                "cell_type": st.just("heading"),
                "level": st.integers(0, 7),
                "source": source_field(),
                "metadata": cell_metadata,
            }
        ),
    )
    return {
        "nbformat": draw(st.sampled_from([3, 3, 3, 2, 1])),
        "nbformat_minor": draw(st.sampled_from([0, 0, 1, 5, -1])),
        "metadata": draw(notebook_metadata),
        "worksheets": draw(
            st.lists(
                st.fixed_dictionaries(
                    {"cells": st.lists(v3_cells, max_size=4), "metadata": st.just({})}
                ),
                max_size=2,
            )
        ),
    }


def _paths(value: object, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*prefix, i))


_odd_values = (
    json_values
    | st.sampled_from([4, 4.0, "4", 5, 3, 0, -1, 2**64, True, None, "", [], {}])
    | st.sampled_from(["code", "markdown", "raw", "stream", "error"])
)


@st.composite
def mutated_notebooks(draw: Callable) -> dict:
    """A notebook with fields removed or replaced by values of the wrong type."""
    nb = draw(notebooks() | v3_notebooks())
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(nb) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = nb
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_odd_values)
    return nb


@st.composite
def notebook_texts(draw: Callable) -> str:
    """Notebook JSON text: well-formed, mutated, or damaged."""
    value = draw(
        st.one_of(
            notebooks(),
            notebooks(),
            notebooks(),
            mutated_notebooks(),
            mutated_notebooks(),
            versioned_notebooks(),
            v3_notebooks(),
            json_values,
            st.dictionaries(st.sampled_from(["cells", "worksheets"]), json_values),
        )
    )
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 1, "\t"])),
    )
    twist = draw(
        st.sampled_from(
            ["none"] * 8 + ["crlf", "truncate", "splice", "surrogate", "nesting"]
        )
    )
    if twist == "crlf":
        text = text.replace("\n", "\r\n")
    elif twist == "truncate":
        text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    elif twist == "splice":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=5)) + text[at:]
    elif twist == "surrogate":
        # a lone surrogate is valid JSON text (an escape): json.loads returns it
        text = re.sub(
            r'(?<=[:\[,] )"', '"\\\\ud800', text, count=draw(st.integers(1, 5))
        )
    elif twist == "nesting":
        depth = draw(st.integers(1, 3000))
        text = '{"cells": ' + "[" * depth + "]" * depth + "}"
    return text


_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]


@st.composite
def notebook_bytes(draw: Callable) -> bytes:
    """File contents: notebook text in many encodings, or noise."""
    kind = draw(st.sampled_from(["encoded"] * 5 + ["random", "bom+random", "cut"]))
    if kind == "random":
        return draw(st.binary(max_size=200))
    if kind == "bom+random":
        bom = draw(
            st.sampled_from(
                [codecs.BOM_UTF8, codecs.BOM_UTF8 * 2, codecs.BOM_UTF16_LE, b"\xff"]
            )
        )
        return bom + draw(st.binary(max_size=100))
    text = draw(notebook_texts())
    encoding = draw(st.sampled_from(["utf-8"] * 4 + _ENCODINGS + ["latin-1", "cp1252"]))
    errors = "surrogatepass" if "utf" in encoding else "replace"
    raw = text.encode(encoding, errors=errors)
    if kind == "cut" and raw:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    return raw


# ---------------------------------------------------------------------------
# 1. the read boundary


def _check_notebook_value(nb: Notebook) -> None:
    assert nb.path == PATH
    assert [c.number for c in nb.cells] == list(range(1, len(nb.cells) + 1))
    for cell in nb.cells:
        assert isinstance(cell.source, str)
        assert "\r" not in cell.source, "sources are read with LF line ends only"


def _read_all(text: str) -> None:
    """parse_notebook and notebook_json on ``text``; for what they accept, the
    analysis and the lint rules as well."""
    parsed, error = call(parse_notebook, text, PATH)
    _outcome("parse_notebook", error)
    if parsed is not None:
        _check_notebook_value(parsed)
        _, error = call(analyse, parsed)
        _outcome("analyse", error)
    data, error = call(notebook_json, text, PATH)
    _outcome("notebook_json", error)
    if data is not None:
        # what nbprod lint does with each file it reads
        assert isinstance(data, dict)
        with _no_hang("check_notebook"):
            check_notebook(data)
            for cell in data.get("cells", []):
                source = cell.get("source", "")
                source = "".join(source) if isinstance(source, list) else source
                noqa_codes(source.splitlines())
    if (parsed is None) != (data is None):
        # convert (parse_notebook) and lint (notebook_json) disagree on the file
        OUTCOMES["parse_notebook and notebook_json disagree"] += 1


@_settings(400)
@given(notebook_texts())
@counted
def test_notebook_text_returns_or_refuses(text: str) -> None:
    _read_all(text)


@_settings(250)
@given(notebook_bytes())
@counted
def test_notebook_bytes_returns_or_refuses(raw: bytes) -> None:
    text, error = call(decode, raw, PATH)
    _outcome("decode", error)
    if text is not None:
        assert isinstance(text, str)
        _read_all(text)


@_settings(150)
@given(json_values)
@counted
def test_any_json_value_returns_or_refuses(value: object) -> None:
    _read_all(json.dumps(value))


# ---------------------------------------------------------------------------
# 2. cell sources, with compile() as the reference


def notebook_of(*sources: str) -> dict:
    """A valid v4.5 Python notebook dict whose code cells hold ``sources``."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3",
                "language": "python",
            },
            "language_info": {"name": "python"},
        },
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell-{i}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
            for i, source in enumerate(sources)
        ],
    }


def convert_and_lint(*sources: str) -> NbprodError | None:
    """Read, analyse and lint a notebook of ``sources``: the error analyse raised."""
    nb_dict = notebook_of(*sources)
    nb, error = call(parse_notebook, json.dumps(nb_dict), PATH)
    assert error is None, f"a valid notebook was refused: {error}"
    _, error = call(analyse, nb)
    _outcome("analyse", error)
    with _no_hang("check_notebook"):
        findings = check_notebook(nb_dict)
    OUTCOMES["lint findings"] += len(findings)
    return error


def as_read(source: str) -> str:
    """A cell source with LF line ends, as nbprod (and Jupyter's editor) read it."""
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _compiles(source: str) -> bool:
    """The reference: compile() on the source as read. (On the raw source, CPython
    accepts a backslash before a final CRLF, though not before a final LF.)"""
    try:
        compile(as_read(source), "<cell>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _has_ipython_syntax(source: str) -> bool:
    """Whether nbprod reads ``source`` as more than plain Python: IPython's
    transformer changes it, or its first line is a '# nbprod:' comment."""
    from IPython.core.inputtransformer2 import TransformerManager

    if re.match(r"\s*#\s*nbprod\s*:", source.lstrip("\n").split("\n", 1)[0]):
        return True
    if not any(ch in source for ch in "%!?"):
        return False
    try:
        changed = TransformerManager().transform_cell(source)
    except Exception:
        return True
    return changed.rstrip("\n") != source.rstrip("\n")


def _compile_reference(source: str, error: NbprodError | None, number: int) -> None:
    """compile() is the reference for the plain-Python cell ``number``."""
    cell = f"cell {number}"
    if not _compiles(source):
        OUTCOMES["compile() rejects"] += 1
        assert isinstance(
            error, CellError
        ), f"compile() rejects {source!r} but nbprod " + (
            "accepted it" if error is None else f"said: {error}"
        )
        assert re.search(rf"\b{cell}\b", str(error)), f"{error} does not name {cell}"
    else:
        OUTCOMES["compile() accepts"] += 1
        if error is not None:
            message = str(error)
            OUTCOMES[f"compile() accepts, refused: {error.message[:40]}"] += 1
            assert (
                "syntax error" not in message
            ), f"compile() accepts {source!r} but nbprod said: {message}"
            assert re.search(r"\bcell \d+\b", message) or PATH in message, message


@_settings(300)
@given(plain_python)
@counted
def test_python_cell_follows_compile(source: str) -> None:
    hypothesis.assume(not _has_ipython_syntax(source))
    error = convert_and_lint(source)
    _compile_reference(source, error, 1)


@_settings(50)
@given(hypothesmith.from_node())
@counted
def test_libcst_generated_cell_follows_compile(source: str) -> None:
    hypothesis.assume(not _has_ipython_syntax(source))
    error = convert_and_lint(source)
    _compile_reference(source, error, 1)


@_settings(120)
@given(st.lists(plain_python, min_size=2, max_size=3))
@counted
def test_python_cells_error_names_the_first_bad_cell(sources: list[str]) -> None:
    hypothesis.assume(not any(_has_ipython_syntax(s) for s in sources))
    error = convert_and_lint(*sources)
    # cells are checked in order: the first one compile() rejects is named
    bad = [i for i, s in enumerate(sources, start=1) if not _compiles(s)]
    if bad:
        _compile_reference(sources[bad[0] - 1], error, bad[0])
    elif error is not None:
        assert "syntax error" not in str(error), str(error)


@_settings(400)
@given(st.lists(ipython_sources(), min_size=1, max_size=3))
@counted
def test_ipython_cells_return_or_refuse(sources: list[str]) -> None:
    error = convert_and_lint(*sources)
    if isinstance(error, CellError):
        assert re.search(r"\bcell [1-3]\b", str(error)), str(error)


# ---------------------------------------------------------------------------
# Inputs too risky to run in-process (a crash would take pytest with it): the
# real CLI in a subprocess. A result or one line on stderr, never a traceback.

_DEEP = 100_000


@pytest.mark.parametrize(
    "sources",
    [
        pytest.param(["x = " + "-" * _DEEP + "1"], id="deep-unary"),
        pytest.param(["x = " + "(" * 199 + ")" * 199], id="199-parens"),
        pytest.param(["x = " + "[" * 5000 + "]" * 5000], id="deep-brackets"),
        pytest.param(["x = 1" + " + 1" * _DEEP], id="long-sum"),
        pytest.param(
            [
                "def f():\n"
                + "".join(" " * i + "if x:\n" for i in range(1, 120))
                + " " * 120
                + "pass"
            ],
            id="deep-blocks",
        ),
        pytest.param(["x = '" + "a" * 1_000_000 + "'"], id="long-string"),
        pytest.param(["%time " * 2000 + "x"], id="nested-time"),
        pytest.param(["x = [" + "lambda: " * 3000 + "1]"], id="deep-lambda"),
        pytest.param(["x = f'{" * 150 + "1" + "}'" * 150], id="nested-fstrings"),
    ],
)
def test_risky_sources_in_a_subprocess(tmp_path: Path, sources: list[str]) -> None:
    IN_SUBPROCESS["sources"] += 1
    nb = make_notebook(tmp_path / "nb.ipynb", *sources)
    for args, ok in (
        (("plan", nb), (0, 2)),
        (("lint", "--select", "NBP", "--no-cache", nb), (0, 1, 2)),
    ):
        result = run_nbprod(*args, cwd=tmp_path, timeout=120)
        assert result.returncode in ok, (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        if result.returncode == 2:
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", id="deep-json"
        ),
        pytest.param(
            b'{"cells": [], "a": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
            id="deep-object",
        ),
        pytest.param(codecs.BOM_UTF16_LE + "{}".encode("utf-16-le"), id="utf-16"),
        pytest.param(b"\x00" * 1000, id="nul-bytes"),
    ],
)
def test_risky_files_in_a_subprocess(tmp_path: Path, raw: bytes) -> None:
    IN_SUBPROCESS["files"] += 1
    path = tmp_path / "nb.ipynb"
    path.write_bytes(raw)
    for args in (("plan", path), ("lint", "--no-cache", path)):
        result = run_nbprod(*args, cwd=tmp_path, timeout=120)
        assert result.returncode == 2, (args, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


# ---------------------------------------------------------------------------
# What these properties found (minimal inputs, shrunk by hypothesis), fixed in
# nbprod since: kept as explicit regression examples.


def test_found_kernel_name_with_a_newline_is_one_line() -> None:
    # was: "...the notebook's kernel is 'r' (a\nb); ..." on two lines
    nb = notebook_of()
    nb["metadata"] = {
        "kernelspec": {"name": "a\nb", "display_name": "", "language": "R"}
    }
    for read in (parse_notebook, notebook_json):
        _, error = call(read, json.dumps(nb), PATH)
        assert isinstance(error, NbprodError)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            "for i in range(3):\n    %time x\nfor i in range(3):\n"
            "    get_ipython().run_line_magic(cmd, cmd)",
            id="name-arguments",
        ),
        pytest.param(
            "for i in range(3):\n    %time x\nfor i in range(3):\n"
            "    get_ipython().run_line_magic('matplotlib')",
            id="one-argument",
        ),
        pytest.param("%time x\nget_ipython().system(1)", id="int-argument"),
        pytest.param(
            "%time x\nget_ipython().run_line_magic(['a'], 'b')", id="list-argument"
        ),
        pytest.param(
            "%time x\nget_ipython().system('a') + get_ipython().system('b')",
            id="two-calls",
        ),
        pytest.param("get_ipython().run_cell_magic(1)\n%time x", id="cell-magic"),
        pytest.param(
            "%time x\nget_ipython().system(f'pip install {pkg}')", id="f-string"
        ),
    ],
)
def test_found_hand_written_get_ipython_is_refused(source: str) -> None:
    # was: ValueError, IndexError, TypeError, AttributeError or AssertionError
    # from nbprod.convert.analysis.normalise.normalise_cell
    error = convert_and_lint(source)
    assert isinstance(error, CellError) and "cell 1" in str(error), error


@pytest.mark.parametrize("source", ["\xa0", "\x1f", "\u2028", "\x0b"])
def test_found_blank_looking_cell_is_a_syntax_error(source: str) -> None:
    # was: "nothing to convert: the notebook has no code" (str.strip() drops them)
    error = convert_and_lint(source)
    _compile_reference(source, error, 1)


def test_found_backslash_before_crlf_is_judged_as_read() -> None:
    # compile() accepts the raw source, not the source with LF line ends; nbprod
    # reads LF line ends, so the reference compiles the source as read
    source = "x = 1\\\r\n"
    assert not _compiles(source)
    error = convert_and_lint(source)
    _compile_reference(source, error, 1)


# ---------------------------------------------------------------------------
# 3. Generated code compiles: every project nbprod would write, for notebooks of
# the constructs that change what it generates (redefinitions, helpers reading
# globals, ``global``, ``%env``, IPython's ``_``, displays, side effects), is
# judged by compile() before any file is written. nbprod checks it too
# (write.check_compiles); the reference here is compile() itself.

_CONSTRUCTS = [
    "import numpy as np\nimport pandas as pd",
    "from IPython.display import display",
    "from sklearn.linear_model import LinearRegression",
    "X = np.arange(12.0).reshape(-1, 1)\ny = X[:, 0] * 2",
    "def featurize(x):\n    return np.c_[x, x ** 2]",
    "def featurize(x):\n    return np.c_[x, x ** 3]",
    "F = featurize(X)",
    "print(featurize(X).shape)",
    "class Tracker:\n    logs = []\n    def log(self, m):\n        Tracker.logs.append(m)\n        return m",
    "Tracker().log(len(X))",
    "global X\nX = X + 1",
    "if len(X):\n    global y\n    y = y + 1",
    "%env NBPROD_FLAG=1",
    "df = pd.DataFrame({'a': X[:, 0]})",
    "df.head()",
    "display(df.head())",
    "s = _",
    "THRESHOLD = 0.5\ndef label(p):\n    return (p >= THRESHOLD).astype(int)",
    "labels = label(y / y.max())",
    "def scale(v, k=2):\n    return v * k\nZ = scale(X)",
    "def scale(v, k=3):\n    return v * k",
    "model = LinearRegression().fit(X, y)",
    "pred = model.predict(X)",
    "runlog = []\nrunlog.append('x')",
    "for _ in range(2):\n    X = X + 0",
    "featurize = None",
    "def bump():\n    global X\n    X = X + 1",
]


@_settings(60)
@given(st.lists(st.sampled_from(_CONSTRUCTS), min_size=1, max_size=8))
@counted
def test_every_generated_python_file_compiles(sources: list[str]) -> None:
    from nbprod.commands.convert import build_files
    from nbprod.notebook import read_notebook

    with tempfile.TemporaryDirectory() as tmp:
        path = make_notebook(Path(tmp) / "nb.ipynb", *sources)
        analysis, error = call(analyse, read_notebook(path))
        _outcome("generate", error)
        if error is not None:
            return
        files, _ = build_files(analysis, None, FIXED_ENVIRONMENT)
    python = {rel: text for rel, text in files.items() if rel.endswith(".py")}
    assert python, "a project without Python files"
    for rel, text in python.items():
        try:
            compile(text, rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            pytest.fail(f"{rel} does not compile ({exc}) for cells {sources!r}")
