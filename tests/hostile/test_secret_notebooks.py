"""Secrets in a notebook's code, outputs and metadata: never copied into any
generated file, report or message; read from the environment; flagged by lint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tests.helpers.cli import run_nbprod

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key
DB_URL = "postgresql://ana:Tr0ub4dor-3@db.example.com/sales"
TOKEN = "ghp_" + "Zx9Yw8Vu7Ts6Rq5Po4Nm" * 2
PASSWORD = "s3cr3t-Passw0rd!"  # no known format: found by the name it is given to
SECRETS = (AWS_KEY, "Tr0ub4dor-3", TOKEN, PASSWORD)


def _notebook(path: Path) -> Path:
    cells = [
        new_code_cell(
            f"import pandas as pd\nAPI_KEY = '{AWS_KEY}'  # key: {AWS_KEY}\n"
            f"DB_URL = '{DB_URL}'\ndb_password = '{PASSWORD}'",
            outputs=[new_output("stream", name="stdout", text=f"using {TOKEN}\n")],
        ),
        new_code_cell(
            "df = pd.DataFrame({'a': [1.0, 2.0, 3.0]})\n"
            "key_len = len(API_KEY) + len(DB_URL) + len(db_password)\n"
            f"client = dict(token='{TOKEN}', retries=3)"
        ),
        new_code_cell(
            "from sklearn.linear_model import LinearRegression\n"
            "model = LinearRegression().fit(df[['a']], df['a'] * key_len)\n"
            "used = len(client['token'])"
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "P",
    }
    nb.metadata["deploy"] = {"aws_secret": AWS_KEY}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def _leaks(folder: Path) -> list[str]:
    return [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and any(s.encode() in p.read_bytes() for s in SECRETS)
    ]


@pytest.mark.kernel
def test_secrets_move_to_the_environment_and_are_written_nowhere(
    tmp_path: Path,
) -> None:
    nb = _notebook(tmp_path / "nb" / "client.ipynb")
    out = tmp_path / "project"
    r = run_nbprod("convert", nb, "-o", out)
    assert r.returncode == 0, r.stdout + r.stderr
    for secret in SECRETS:
        assert secret not in r.stdout + r.stderr
    assert _leaks(out) == []
    code = (out / "src" / "client" / "preprocessing.py").read_text()
    assert 'API_KEY = os.environ["API_KEY"]' in code
    assert 'DB_URL = os.environ["DB_URL"]' in code
    assert 'db_password = os.environ["DB_PASSWORD"]' in code
    assert 'token=os.environ["TOKEN"]' in code
    assert "# (<secret removed by nbprod>)" in code
    report = json.loads((out / "nbprod-report.json").read_text())
    assert [s["env"] for s in report["plan"]["secrets"]] == [
        "API_KEY",
        "DB_URL",
        "DB_PASSWORD",
        "TOKEN",
    ]
    assert report["validation"]["status"] == "equal"
    readme = (out / "README.md").read_text()
    assert "| `TOKEN` | GitHub token | cell 2, line 3 |" in readme

    # The project's own tests ask for the variables, then pass with them.
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    for name in ("API_KEY", "DB_URL", "DB_PASSWORD", "TOKEN"):
        env.pop(name, None)
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    bare = subprocess.run(pytest_cmd, cwd=out, env=env, capture_output=True, text=True)
    assert (
        bare.returncode != 0
        and "set API_KEY, DB_URL, DB_PASSWORD, TOKEN first" in bare.stderr
    )
    env.update(API_KEY=AWS_KEY, DB_URL=DB_URL, DB_PASSWORD=PASSWORD, TOKEN=TOKEN)
    given = subprocess.run(pytest_cmd, cwd=out, env=env, capture_output=True, text=True)
    assert given.returncode == 0, given.stdout[-2000:]

    # nbprod validate reads the values from the notebook again, and writes none.
    r = run_nbprod("validate", nb, out, "--report", tmp_path / "v.json")
    assert r.returncode == 0, r.stderr
    assert _leaks(out) == []
    assert not any(s in (tmp_path / "v.json").read_text() for s in SECRETS)


def test_lint_flags_every_place_and_prints_no_value(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "client.ipynb")
    r = run_nbprod("lint", "--select", "NBP006", "--no-cache", nb, cwd=tmp_path)
    assert r.returncode == 1
    places = [
        line.split(": NBP006 ")[0].split(":", 1)[1]
        for line in r.stdout.splitlines()[:-1]
    ]
    assert places == [
        "1:1",  # the notebook's metadata
        "cell 1:1:1",  # an output
        "cell 1:2:12",
        "cell 1:2:42",  # a comment
        "cell 1:3:11",
        "cell 1:4:1",  # by the name it is given to
        "cell 2:3:22",
    ]
    assert not any(s in r.stdout + r.stderr for s in SECRETS)


def test_a_secret_inside_an_f_string_is_refused_by_place(tmp_path: Path) -> None:
    path = tmp_path / "f.ipynb"
    nb = new_notebook(
        cells=[
            new_code_cell("user = 'ana'"),
            new_code_cell(f"url = f'https://{{user}}:{TOKEN}@host'"),
        ]
    )
    nbformat.write(nb, str(path))
    r = run_nbprod("convert", path, "-o", tmp_path / "out", "--no-validate")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"nbprod: error: {path}: cell 2, line 1: a likely secret (GitHub token) inside "
        "an f-string cannot be moved to an environment variable (assign the secret "
        "to a variable of its own first)"
    )
    assert not (tmp_path / "out").exists()


def test_a_project_run_without_its_secrets_says_which_to_set(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "nb" / "client.ipynb")
    out = tmp_path / "project"
    r = run_nbprod("convert", nb, "-o", out, "--no-validate")
    assert r.returncode == 0, r.stderr
    env = {**os.environ, "PYTHONPATH": str(out / "src")}
    for name in ("API_KEY", "DB_URL", "DB_PASSWORD", "TOKEN"):
        env.pop(name, None)
    env["TOKEN"] = TOKEN
    run = subprocess.run(
        [sys.executable, "-m", "client", "run"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "error: set API_KEY, DB_URL, DB_PASSWORD first: the pipeline reads these "
        "secrets from the environment (README.md says which is which)"
    ]
    assert not (out / "artifacts").exists()
    # CI gives the tests and the pipeline the repository's secrets of those names.
    ci = (out / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert ci.count("      DB_PASSWORD: ${{ secrets.DB_PASSWORD }}\n") == 2
    bin_dir = Path(sys.executable).parent
    audit = subprocess.run(
        [bin_dir / "zizmor", "--offline", "--persona", "pedantic", "--no-progress"]
        + [out / ".github" / "workflows" / "ci.yml"],
        capture_output=True,
        text=True,
    )
    assert audit.returncode == 0 and "No findings to report" in audit.stdout, (
        audit.stdout + audit.stderr
    )
