"""nbprod init: a new project that installs, runs, passes its tests, and whose CI
workflow and pre-commit config pass their checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import run_nbprod

BIN = Path(sys.executable).parent


def run(
    args: list[str | Path], cwd: Path, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.mark.e2e
def test_init_gives_a_project_that_installs_runs_and_passes(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = run_nbprod("init", "demo", "-o", out)
    assert result.returncode == 0, result.stderr
    assert (out / "notebooks" / "demo.ipynb").is_file()

    site = tmp_path / "site"
    install = run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            site,
            out,
        ],
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(site)}
    pipeline = run([sys.executable, "-m", "demo", "run"], cwd=out, env=env)
    assert pipeline.returncode == 0, pipeline.stderr
    assert "evaluate: done; saved accuracy" in pipeline.stdout
    tests = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=out
    )
    assert tests.returncode == 0, tests.stdout[-2000:]

    workflow = out / ".github" / "workflows" / "ci.yml"
    assert (
        run(
            [
                BIN / "check-jsonschema",
                "--builtin-schema",
                "vendor.github-workflows",
                workflow,
            ],
            cwd=out,
        ).returncode
        == 0
    )
    audit = run([BIN / "zizmor", "--offline", "--no-progress", workflow], cwd=out)
    assert audit.returncode == 0 and "No findings to report" in audit.stdout
    assert (
        run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "validate-config",
                ".pre-commit-config.yaml",
            ],
            cwd=out,
        ).returncode
        == 0
    )


def test_init_is_deterministic_and_keeps_existing_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "demo", tmp_path / "b" / "demo"
    assert run_nbprod("init", "demo", "-o", first).returncode == 0
    assert run_nbprod("init", "demo", "-o", second).returncode == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(
        p.relative_to(second) for p in second.rglob("*") if p.is_file()
    )
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)

    again = run_nbprod("init", "demo", "-o", first)
    assert again.returncode == 2 and "exists and is not empty" in again.stderr
    bad = run_nbprod("init", "my-demo", "-o", tmp_path / "c")
    assert bad.returncode == 2 and "'my-demo' is not a valid package name" in bad.stderr
    assert not (tmp_path / "c").exists()


def test_init_pre_commit_lints_the_kept_notebook(tmp_path: Path) -> None:
    """The nbprod-lint hook of the generated pre-commit config, run by pre-commit
    (the ruff and black hooks need GitHub, so only the local hook runs here)."""
    import yaml

    out = tmp_path / "demo"
    assert run_nbprod("init", "demo", "-o", out).returncode == 0
    config = yaml.safe_load((out / ".pre-commit-config.yaml").read_text())
    [local] = [r for r in config["repos"] if r["repo"] == "local"]
    (out / "local-hooks.yaml").write_text(yaml.safe_dump({"repos": [local]}))
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PRE_COMMIT_COLOR": "never",
    }
    subprocess.run(["git", "init", "-q"], cwd=out, check=True)
    subprocess.run(["git", "add", "."], cwd=out, check=True)

    def hook() -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "run",
                "-c",
                "local-hooks.yaml",
                "--all-files",
            ],
            cwd=out,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    clean = hook()
    assert clean.returncode == 0 and "nbprod lint" in clean.stdout, clean.stdout
    [notebook] = (out / "notebooks").glob("*.ipynb")
    nb = json.loads(notebook.read_text())
    nb["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "added",
            "metadata": {},
            "outputs": [],
            "source": "path = '/home/ana/data.csv'\n",
        }
    )
    notebook.write_text(json.dumps(nb, indent=1) + "\n")
    messy = hook()
    assert messy.returncode == 1, messy.stdout
    where = f"notebooks/{notebook.name}:cell {len(nb['cells'])}:1:8: NBP004"
    assert where in messy.stdout, messy.stdout
