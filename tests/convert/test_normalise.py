"""Magics become plain Python, facts, or a clear refusal."""

from __future__ import annotations

import pytest

from nbprod.convert.analysis.normalise import normalise_cell
from nbprod.errors import CellError
from nbprod.notebook import Cell


def norm(source: str, tags: tuple[str, ...] = ()):
    return normalise_cell(Cell(3, "code", source, tags))


def test_plain_python_is_untouched() -> None:
    cell = norm("x = 1\ny = x + 1")
    assert cell.code == "x = 1\ny = x + 1"
    assert cell.magics == ()


def test_session_magics_are_dropped_and_lines_keep_their_numbers() -> None:
    cell = norm("%matplotlib inline\n%load_ext autoreload\n%autoreload 2\nx = 1")
    assert cell.code.split("\n")[:4] == ["", "", "", "x = 1"]
    assert [(m.line, m.action) for m in cell.magics] == [
        (1, "dropped"),
        (2, "dropped"),
        (3, "dropped"),
    ]


def test_time_keeps_its_statement() -> None:
    cell = norm("%time model.fit(X, y)\n%timeit -n 3 -r 2 f(x)")
    assert cell.code.split("\n")[:2] == ["model.fit(X, y)", "f(x)"]
    assert {m.action for m in cell.magics} == {"unwrapped"}


def test_cell_time_magic_keeps_the_body_on_its_lines() -> None:
    cell = norm("%%time\na = 1\nb = a + 1\n")
    assert cell.code.split("\n")[1:3] == ["a = 1", "b = a + 1"]


def test_pip_install_becomes_a_dependency() -> None:
    cell = norm("!pip install -q xgboost 'lightgbm>=4'\nimport xgboost")
    assert cell.dependencies == ("xgboost", "lightgbm>=4")
    assert cell.code.split("\n")[1] == "import xgboost"


@pytest.mark.parametrize(
    "source",
    [
        "!head CreditScoring.csv",
        "!ls -la data | wc -l",
        "!cat data.csv | head -5 && wc -l data.csv",
        "!pip freeze",
        "!python --version",
        "!nvidia-smi",
        "%autosave 0",
        "for name in files:\n    !head -2 $name",
    ],
)
def test_lines_that_only_look_or_set_up_the_editor_are_dropped(source: str) -> None:
    cell = norm(source)
    assert cell.code.strip() in ("", "for name in files:\n    pass")
    assert [m.action for m in cell.magics] == ["dropped"]


def test_mkdir_becomes_python_that_makes_the_folders() -> None:
    cell = norm("!mkdir -p models/v1 figures\nx = 1")
    assert cell.code.split("\n")[0] == (
        "os.makedirs('models/v1', exist_ok=True); "
        "os.makedirs('figures', exist_ok=True)"
    )
    assert cell.imports == ("os",)
    assert [m.action for m in cell.magics] == ["python"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("files = !ls data", "cell 3, line 1: shell output capture"),
        ("!head data.csv > sample.csv", "cell 3, line 1: shell command"),
        ("!mkdir $folder", "cell 3, line 1: shell command"),
        ("x = 1\n!wget http://example.com/data.csv", "cell 3, line 2: shell command"),
        ("%cd data", "cell 3, line 1: magic %cd"),
        ("%%bash\necho hi", "cell 3, line 1: cell magic %%bash"),
    ],
)
def test_unconvertible_ipython_is_refused_with_cell_and_line(
    source: str, message: str
) -> None:
    with pytest.raises(CellError) as info:
        norm(source)
    assert str(info.value).startswith(message)


def test_display_cell_magic_is_display_only() -> None:
    cell = norm("%%html\n<b>hi</b>")
    assert cell.display_magic == "html"
    assert cell.code == ""


def test_explicit_stage_from_tag_and_comment() -> None:
    assert norm("x = 1", ("nbprod:training",)).explicit == "training"
    assert norm("# nbprod: evaluation\nx = 1").explicit == "evaluation"
    skipped = norm("%%bash\necho anything", ("nbprod:skip",))
    assert skipped.explicit == "skip" and skipped.code == ""


@pytest.mark.parametrize(
    ("first_line", "explicit"),
    [
        ("# nbprod: Training", "training"),
        ("# nbprod: evaluation  # the metrics", "evaluation"),
        ("# nbprod: noqa", None),  # lint's, for the whole cell
        ("# nbprod: noqa NBP003", None),
        ("# nbprod: noqa: NBP003", None),
    ],
)
def test_a_mark_in_any_case_with_a_comment_and_lints_noqa_is_no_mark(
    first_line: str, explicit: str | None
) -> None:
    assert norm(f"{first_line}\nx = 1").explicit == explicit


def test_unknown_explicit_stage_is_an_error() -> None:
    with pytest.raises(CellError, match="unknown stage 'trainig'"):
        norm("# nbprod: trainig\nx = 1")


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("%env MY_VAR=1", "os.environ['MY_VAR'] = '1'"),
        ("%env MY_VAR 1", "os.environ['MY_VAR'] = '1'"),
        ("%set_env MY_VAR=a b", "os.environ['MY_VAR'] = 'a b'"),
        ("if x:\n    %env MY_VAR=2", "if x:\n    os.environ['MY_VAR'] = '2'"),
    ],
)
def test_env_magic_sets_the_variable_in_python(source: str, code: str) -> None:
    cell = norm(source)
    assert cell.code.rstrip("\n") == code
    assert cell.imports == ("os",)
    assert [m.action for m in cell.magics] == ["environment"]


@pytest.mark.parametrize("source", ["%env", "%env MY_VAR"])
def test_env_magic_that_only_shows_values_is_dropped(source: str) -> None:
    cell = norm(source)
    assert cell.code.strip() == "" and cell.imports == ()
    assert [m.action for m in cell.magics] == ["dropped"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("%env X=$HOME", "cell 3, line 1: %env with IPython's variable expansion"),
        ("%env X={path}", "cell 3, line 1: %env with IPython's variable expansion"),
        ("%set_env X", "cell 3, line 1: %set_env needs a variable and a value"),
    ],
)
def test_env_magic_that_cannot_be_converted_is_refused(
    source: str, message: str
) -> None:
    with pytest.raises(CellError) as info:
        norm(source)
    assert str(info.value).startswith(message)


def test_capture_into_a_name_keeps_the_name_bound_to_what_was_printed() -> None:
    cell = norm("%%capture --no-stderr output\nmodel.fit(X, y)\n\nprint('done')")
    assert cell.code.rstrip("\n") == (
        "with capture_output() as output:\n"
        "    model.fit(X, y)\n\n"
        "    print('done')"
    )
    assert cell.imports == ("from IPython.utils.capture import capture_output",)
    assert [(m.line, m.action) for m in cell.magics] == [(1, "python")]


def test_capture_without_a_name_keeps_the_body() -> None:
    cell = norm("%%capture\nmodel.fit(X, y)")
    assert cell.code.rstrip("\n") == "\nmodel.fit(X, y)"
    assert [m.action for m in cell.magics] == ["unwrapped"]
