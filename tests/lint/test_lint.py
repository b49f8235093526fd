"""``nbprod lint``: each rule on a notebook that triggers it and one that does not,
then the command as users run it (format, config, suppression, exit codes)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbprod.lint.rules import RULES, Settings, check_notebook
from tests.helpers.cli import run_nbprod
from tests.helpers.paths import EXAMPLES, ROOT

FAKE_AWS_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key
FAKE_GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2


def notebook(*cells: str | dict, metadata: dict | None = None) -> dict:
    """A notebook dict: a str is a code cell; a dict gives source, count, outputs,
    or ``markdown``."""
    nb = new_notebook()
    nb.metadata.update(metadata or {})
    for cell in cells:
        if isinstance(cell, str):
            cell = {"source": cell}
        if "markdown" in cell:
            nb.cells.append(new_markdown_cell(cell["markdown"]))
            continue
        nb.cells.append(
            new_code_cell(
                cell["source"],
                execution_count=cell.get("count"),
                outputs=cell.get("outputs", []),
            )
        )
    nbformat.validate(nb)
    return json.loads(nbformat.writes(nb))


def codes(nb: dict, settings: Settings | None = None) -> list[tuple[str, int, int]]:
    return [
        (f.code, f.cell, f.line) for f in check_notebook(nb, settings or Settings())
    ]


def ran(*sources: str, counts: list[int | None]) -> dict:
    return notebook(
        *({"source": s, "count": c} for s, c in zip(sources, counts, strict=True))
    )


# (code, notebook that triggers it, (cell, line) of the finding, one that does not)
CASES = {
    "NBP001 out of order": (
        "NBP001",
        ran("a = 1", "b = a", "c = b", counts=[1, 3, 2]),
        (2, 1),  # ran after the cell below it
        ran("a = 1", "b = a", "c = b", counts=[1, 2, 3]),
    ),
    "NBP001 jump": (
        "NBP001",
        ran("a = 1", "b = a", counts=[1, 5]),
        (2, 1),
        ran("a = 1", "", "b = a", counts=[1, None, 2]),  # empty cells never run
    ),
    "NBP001 earlier runs": (
        "NBP001",
        ran("a = 1", "b = a", counts=[4, 5]),
        (1, 1),
        ran("a = 1", "b = a", counts=[None, None]),  # outputs cleared: no record
    ),
    "NBP002": (
        "NBP002",
        ran("a = 1", "b = a", "c = 2", counts=[1, None, 2]),
        (2, 1),
        ran("a = 1", "b = a", "c = 2", counts=[1, 2, None]),  # not run yet: below
    ),
    "NBP003": (
        "NBP003",
        notebook("import pandas as pd", "print(df.shape)", "df = pd.DataFrame()"),
        (2, 1),
        notebook(
            "import pandas as pd",
            "df = pd.DataFrame()",
            "def show():\n    return later\n",  # runs when called, not here
            "later = df.shape\nlist = [show()]",
        ),
    ),
    "NBP003 in a comprehension and a class body": (
        "NBP003",
        notebook("class A:\n    limit = n * 2\n", "n = 3"),
        (1, 2),
        notebook("n = 3", "rows = [n * i for i in range(n)]\nclass A:\n    k = n\n"),
    ),
    "NBP004": (
        "NBP004",
        notebook("import pandas as pd\ndf = pd.read_csv('/home/ana/data/train.csv')"),
        (1, 2),
        notebook("import pandas as pd\ndf = pd.read_csv('data/train.csv')"),
    ),
    "NBP004 windows": (
        "NBP004",
        notebook("path = r'C:\\Users\\ana\\train.csv'"),
        (1, 1),
        notebook("url = 'https://example.org/home/data.csv'\nroute = '/api/v1'"),
    ),
    "NBP005 estimator": (
        "NBP005",
        notebook(
            "from sklearn.ensemble import RandomForestClassifier as RF\n"
            "model = RF(n_estimators=10, random_state=None)"
        ),
        (1, 2),
        notebook(
            "from sklearn.ensemble import RandomForestClassifier as RF\n"
            "from sklearn.ensemble import VotingClassifier\n"
            "model = RF(n_estimators=10, random_state=0)\n"
            "vote = VotingClassifier([('rf', model)])"
        ),
    ),
    "NBP005 split": (
        "NBP005",
        notebook(
            "import sklearn.model_selection as ms\n"
            "a, b = ms.train_test_split([1, 2, 3, 4])"
        ),
        (1, 2),
        notebook(
            "import sklearn.model_selection as ms\n"
            "a, b = ms.train_test_split([1, 2, 3, 4], random_state=42)"
        ),
    ),
    "NBP005 global generator": (
        "NBP005",
        notebook(
            "import numpy as np\nnoise = np.random.normal(size=3)\nnp.random.seed(0)"
        ),
        (1, 2),
        notebook(
            "import numpy as np\nnp.random.seed(0)",
            "noise = np.random.normal(size=3)\nrng = np.random.default_rng(7)",
        ),
    ),
    "NBP006 source": (
        "NBP006",
        notebook(f"aws_key = '{FAKE_AWS_KEY}'"),
        (1, 1),
        notebook("import os\naws_key = os.environ['AWS_ACCESS_KEY_ID']"),
    ),
    "NBP006 output": (
        "NBP006",
        notebook(
            {
                "source": "print(config)",
                "outputs": [
                    new_output("stream", name="stdout", text=f"{FAKE_GITHUB_TOKEN}\n")
                ],
            }
        ),
        (1, 1),
        notebook(
            {
                "source": "print(config)",
                "outputs": [new_output("stream", name="stdout", text="ok\n")],
            }
        ),
    ),
    "NBP006 markdown": (
        "NBP006",
        notebook({"markdown": "db: `postgres://ana:s3cr3t-pw@db.internal/sales`"}),
        (1, 1),
        notebook({"markdown": "db: `postgres://db.internal/sales`"}),
    ),
    "NBP007": (
        "NBP007",
        notebook(
            {
                "source": "df['age']",
                "count": 1,
                "outputs": [
                    new_output("error", ename="KeyError", evalue="'age'", traceback=[])
                ],
            }
        ),
        (1, 1),
        notebook({"source": "df['age']", "count": 1, "outputs": []}),
    ),
    "NBP008": (
        "NBP008",
        notebook(
            {
                "source": "print(big)",
                "outputs": [new_output("stream", name="stdout", text="x" * 600_000)],
            }
        ),
        (1, 1),
        notebook(
            {
                "source": "print(big)",
                "outputs": [new_output("stream", name="stdout", text="x" * 400_000)],
            }
        ),
    ),
    "NBP009": (
        "NBP009",
        notebook(
            "import os", "%pip install xgboost==2.0.3", "!python -m pip install shap"
        ),
        (2, 1),
        notebook("import os", "%matplotlib inline\n!ls data"),
    ),
    "NBP010": (
        "NBP010",
        notebook("from sklearn.metrics import *"),
        (1, 1),
        notebook("from sklearn.metrics import accuracy_score"),
    ),
    "NBP011": (
        "NBP011",
        notebook("\n".join(f"x{i} = {i}" for i in range(51))),
        (1, 1),
        notebook("\n\n".join(f"x{i} = {i}" for i in range(50))),  # blanks do not count
    ),
}


def test_every_rule_has_cases() -> None:
    assert {code for code, *_ in CASES.values()} == set(RULES)


@pytest.mark.parametrize("case", CASES)
def test_rule_triggers_and_stays_quiet(case: str) -> None:
    code, bad, (cell, line), good = CASES[case]
    found = codes(bad)
    assert (code, cell, line) in found, found
    assert not [c for c in codes(good) if c[0] == code], codes(good)


def test_magics_keep_line_numbers_and_cell_magics_unwrap() -> None:
    nb = notebook(
        "%matplotlib inline\n!ls\nx = !ls\ndf?\nprint(later)",
        "%%time\nprint(later)",
        "%%bash\necho $later",
        "later = 1",
    )
    assert codes(nb) == [("NBP003", 1, 5), ("NBP003", 2, 2)]


def test_thresholds_come_from_settings() -> None:
    nb = notebook("\n".join(f"x{i} = {i}" for i in range(20)))
    assert codes(nb, Settings(max_cell_lines=10)) == [("NBP011", 1, 1)]
    assert codes(nb) == []


def test_secret_values_never_appear_in_messages() -> None:
    nb = notebook(
        {
            "source": f"key = '{FAKE_AWS_KEY}'\npassword = 'hunter2-but-longer'",
            "outputs": [new_output("stream", name="stdout", text=FAKE_GITHUB_TOKEN)],
        },
        metadata={"secret_token": FAKE_GITHUB_TOKEN},
    )
    findings = check_notebook(nb)
    assert [f.code for f in findings] == ["NBP006"] * 4
    for f in findings:
        for secret in (FAKE_AWS_KEY, FAKE_GITHUB_TOKEN, "hunter2"):
            assert secret not in f.message


def test_syntax_errors_are_left_to_ruff_and_other_cells_still_checked() -> None:
    nb = notebook("x = (1", "from os import *")
    assert codes(nb) == [("NBP010", 2, 1)]


# --- the command -------------------------------------------------------------


def write(path: Path, nb: dict) -> Path:
    path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
    return path


LINE = re.compile(r"^(?P<path>[^:]+):(cell (?P<cell>\d+):)?\d+:\d+: (?P<code>\S+) .+$")


def test_cli_prints_ruff_like_lines_and_exits_1(tmp_path: Path) -> None:
    nb = notebook(
        "import os\nimport pandas as pd",
        "df = pd.read_csv('/home/ana/x.csv')",
    )
    write(tmp_path / "a.ipynb", nb)
    r = run_nbprod("lint", "a.ipynb", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1] == f"Found {len(lines) - 1} findings in 1 notebook."
    parsed = [LINE.match(line) for line in lines[:-1]]
    assert all(parsed), lines
    found = {(m["cell"], m["code"]) for m in parsed}
    assert ("2", "NBP004") in found
    assert ("1", "F401") in found  # ruff's, in the same form
    assert r.stderr == ""


def test_cli_json_select_ignore_and_noqa(tmp_path: Path) -> None:
    nb = notebook(
        "import os\nimport pandas as pd",
        "df = pd.read_csv('/home/ana/x.csv')  # nbprod: noqa NBP004",
        "raw = pd.read_csv('/mnt/share/y.csv')\nfrom os.path import *",
    )
    write(tmp_path / "a.ipynb", nb)
    r = run_nbprod(
        "lint", "a.ipynb", "--format", "json", "--select", "NBP", cwd=tmp_path
    )
    assert r.returncode == 1, r.stderr
    items = json.loads(r.stdout)
    assert [(i["cell"], i["line"], i["code"]) for i in items] == [
        (3, 1, "NBP004"),
        (3, 2, "NBP010"),
    ]
    assert items[0]["docs"] == "docs/lint/NBP004.md" and items[0]["tool"] == "nbprod"
    r = run_nbprod(
        "lint", "a.ipynb", "--select", "NBP", "--ignore", "NBP004,NBP010", cwd=tmp_path
    )
    assert (r.returncode, r.stdout) == (0, "")


def test_cli_reads_pyproject_settings(tmp_path: Path) -> None:
    write(tmp_path / "a.ipynb", notebook("\n".join(f"x{i} = {i}" for i in range(8))))
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbprod.lint]\nmax-cell-lines = 5\nignore = ["F"]\n',
        encoding="utf-8",
    )
    r = run_nbprod("lint", "a.ipynb", cwd=tmp_path)
    assert r.returncode == 1
    assert "a.ipynb:cell 1:1:1: NBP011 cell has 8 lines (limit 5)" in r.stdout
    (tmp_path / "pyproject.toml").write_text(
        "[tool.nbprod.lint]\nselect = ['NBP099']\n", encoding="utf-8"
    )
    r = run_nbprod("lint", "a.ipynb", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().endswith(
        "no rule NBP099 (nbprod's rules are NBP001 to NBP011)"
    )
    (tmp_path / "pyproject.toml").write_text(
        "[tool.nbprod.lint]\nmax-lines = 5\n", encoding="utf-8"
    )
    r = run_nbprod("lint", "a.ipynb", cwd=tmp_path)
    assert r.returncode == 2 and "unknown setting 'max-lines'" in r.stderr


def test_cli_bad_input_is_exit_2_and_other_files_still_linted(tmp_path: Path) -> None:
    write(tmp_path / "good.ipynb", notebook("from os import *"))
    (tmp_path / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    r_nb = notebook(
        "x <- 1",
        metadata={"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}},
    )
    write(tmp_path / "r.ipynb", r_nb)
    r = run_nbprod("lint", ".", "missing.ipynb", "--select", "NBP", cwd=tmp_path)
    assert r.returncode == 2
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 3, errors
    assert all(e.startswith("nbprod: error: ") for e in errors)
    assert "Traceback" not in r.stderr
    assert any("broken.ipynb: not valid notebook JSON" in e for e in errors)
    assert any("r.ipynb: the notebook's kernel is 'r'" in e for e in errors)
    assert any("missing.ipynb: no such file" in e for e in errors)
    assert "good.ipynb:cell 1:1:1: NBP010" in r.stdout


MESSY = {"titanic_mlops_poc.ipynb", "churn_classifier.ipynb"}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.ipynb")), ids=lambda p: p.stem)
def test_messy_examples_are_flagged_and_clean_ones_are_not(path: Path) -> None:
    r = run_nbprod("lint", path, cwd=ROOT)
    if path.name in MESSY:
        assert r.returncode == 1, r.stdout + r.stderr
        assert re.search(r": NBP00[12] ", r.stdout), r.stdout
    else:
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_the_init_starter_notebook_is_clean(tmp_path: Path) -> None:
    r = run_nbprod("init", "starter", "-o", tmp_path / "starter")
    assert r.returncode == 0, r.stderr
    r = run_nbprod("lint", tmp_path / "starter" / "notebooks", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, ""), r.stdout


# --- docs --------------------------------------------------------------------

DOCS = ROOT / "docs" / "lint"
SECTIONS = [
    "## What it flags",
    "## Why it matters in production",
    "## Bad",
    "## Good",
    "## How to fix",
]


def _python_block(text: str, section: str) -> str | None:
    body = text.split(section, 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```python\n(.*?)```", body, re.S)
    return m.group(1) if m else None


@pytest.mark.parametrize("code", sorted(RULES))
def test_each_rule_has_a_docs_page_whose_examples_are_true(code: str) -> None:
    text = (DOCS / f"{code}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {code}: {RULES[code].name}\n")
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    bad, good = _python_block(text, "## Bad"), _python_block(text, "## Good")
    if code in {"NBP001", "NBP002", "NBP007", "NBP008"}:
        assert bad is None and good is None  # saved state, shown as text
        return

    def found(block: str) -> list[str]:
        cells = [c.strip("\n") for c in re.split(r"^# %%$", block, flags=re.M)]
        return [f.code for f in check_notebook(notebook(*cells))]

    assert code in found(bad)
    assert code not in found(good)
    rule = RULES[code]
    row = f"| [{code}]({code}.md) | {rule.name} | {rule.summary} |"
    assert row.replace("from module import *", "`from module import *`") in (
        DOCS / "README.md"
    ).read_text(encoding="utf-8")


def test_out_of_order_messages_name_the_neighbour() -> None:
    found = check_notebook(ran("a = 1", "b = 2", "c = 3", counts=[2, 3, 1]))
    [above] = found  # count 2 ran first, then 3, then 1: no run is missing
    assert (above.cell, above.code) == (3, "NBP001")
    assert "execution count 1 is lower than the cell above it (3)" in above.message
    found = check_notebook(ran("a = 1", "b = 2", "c = 3", counts=[1, 9, 3]))
    [below] = [f for f in found if "out of order" in f.message]
    assert "execution count 9 is higher than the cell below it (3)" in below.message


def test_other_libraries_seed_keywords_count_as_seeds() -> None:
    nb = notebook(
        "import numpy as np\nimport xgboost as xgb\nimport catboost\n"
        "a = xgb.XGBClassifier(seed=1)\nb = catboost.CatBoostClassifier(random_seed=2)\n"
        "d = xgb.DMatrix([[1]])\nrng = np.random.default_rng(None)"
    )
    assert codes(nb) == [("NBP005", 1, 7)]


def test_noqa_codes_and_reasons() -> None:
    nb = notebook(
        "p = '/home/ana/x.csv'  # nbprod: noqa NBP004 (moved next sprint)\n"
        "q = '/home/ana/y.csv'  # nbprod: noqa because legacy\n"
        "r = '/home/ana/z.csv'  # nbprod: noqa: NBP010",
    )
    from nbprod.lint.noqa import noqa_codes, suppressed

    src = nb["cells"][0]["source"]
    noqa = noqa_codes("".join(src).splitlines())
    kept = [f.line for f in check_notebook(nb) if not suppressed(f, noqa)]
    assert kept == [3]


def test_findings_are_cached_per_content_and_a_bad_entry_is_ignored(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.nbprod.lint]\nruff = false\n")
    path = write(tmp_path / "a.ipynb", notebook("from os import *"))
    first = run_nbprod("lint", "a.ipynb", cwd=tmp_path)
    assert first.returncode == 1 and ": NBP010 " in first.stdout
    cache = tmp_path / ".nbprod_cache"
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    [entry] = cache.glob("lint-*/*.json")
    assert run_nbprod("lint", "a.ipynb", cwd=tmp_path).stdout == first.stdout

    entry.write_text("{not json")  # a damaged entry is recomputed, not trusted
    assert run_nbprod("lint", "a.ipynb", cwd=tmp_path).stdout == first.stdout
    write(path, notebook("from os import path"))  # new content, new entry
    assert run_nbprod("lint", "a.ipynb", cwd=tmp_path).returncode == 0
    assert len(list(cache.glob("lint-*/*.json"))) == 2

    shutil.rmtree(cache)
    assert run_nbprod("lint", "--no-cache", "a.ipynb", cwd=tmp_path).returncode == 0
    assert not cache.exists()


def test_parallel_analysis_gives_the_serial_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbprod.lint.run as lint_module

    for i, example in enumerate(sorted(EXAMPLES.glob("*.ipynb")) * 3):
        shutil.copyfile(example, tmp_path / f"{i:02d}_{example.name}")
    (tmp_path / "zz_broken.ipynb").write_text("[1, 2, 3]")
    config = lint_module.LintConfig(select=("NBP",))
    parallel = lint_module.lint([tmp_path], config)
    monkeypatch.setattr(lint_module, "PARALLEL_FROM", 10_000)
    serial = lint_module.lint([tmp_path], config)
    assert parallel == serial
    assert parallel.files == 25 and len(parallel.findings) == 3 * 8
    assert parallel.errors == [
        f"{tmp_path / 'zz_broken.ipynb'}: not a Jupyter notebook (no cells)"
    ]
