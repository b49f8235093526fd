"""The serving path a tracked run logs to MLflow (issue 26, item 5): registered
under tracking.register_as, served by ``mlflow models serve`` alone (the project's
code and artifacts moved away), it answers over HTTP what ``predict`` writes."""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.helpers.cli import run_ok
from tests.helpers.paths import EXAMPLES
from tests.helpers.server import free_port, serving
from tests.helpers.shared import example_copy

pytestmark = [pytest.mark.e2e, pytest.mark.kernel]

TITANIC = "titanic_mlops_poc"
NAME = "titanic-serving"
# How long the server may take to load the model and answer /ping.
STARTUP_SECONDS = 180


def _post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body, allow_nan=False).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _records(frame: pd.DataFrame) -> dict[str, Any]:
    # Each value as Python has it (no rounding by to_json), a missing one as null.
    data = frame.astype(object).where(frame.notna(), None).to_numpy().tolist()
    return {"dataframe_split": {"columns": list(frame.columns), "data": data}}


def test_the_registered_serving_path_answers_what_predict_writes(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, out = example_copy(tmp_path_factory, tmp_path, EXAMPLES / f"{TITANIC}.ipynb")
    config = out / "config.yaml"
    text = config.read_text(encoding="utf-8")
    assert "  register_as: null\n" in text
    config.write_text(
        text.replace("  register_as: null\n", f"  register_as: {NAME}\n"), "utf-8"
    )
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store,  # switches tracking on, and says where
        "PYTHONPATH": str(out / "src"),
        "MPLBACKEND": "Agg",
    }
    ran = run_ok([sys.executable, "-m", TITANIC, "run"], out, env)
    (said,) = [line for line in ran.splitlines() if line.startswith("MLflow run ")]
    run_id = said.split()[2]
    assert said.endswith(f", registered as '{NAME}' version 1"), said

    rows = pd.read_csv(out / "data" / "passengers_test.csv")
    run_ok(
        [sys.executable, "-m", TITANIC, "predict"]
        + ["--input", "data/passengers_test.csv", "--output", "out.csv"],
        out,
        env,
    )
    written = pd.read_csv(out / "out.csv")["prediction"].tolist()
    assert len(written) == len(rows) == 150

    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=store)
    version = client.get_model_version(NAME, "1")
    assert version.run_id == run_id
    # The signature is the data contract's: its columns, Pclass whole numbers.
    import mlflow

    mlflow.set_tracking_uri(store)
    inputs = mlflow.models.get_model_info(f"models:/{NAME}/1").signature.inputs
    assert set(inputs.input_names()) <= set(rows.columns)
    assert "Pclass" in inputs.required_input_names()
    assert str(inputs.input_dict()["Pclass"].type) == "DataType.long"

    # The model must need nothing of the project: its code and artifacts go.
    for name in ("src", "artifacts"):
        shutil.move(out / name, tmp_path / f"moved-{name}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    serve_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    with serving(
        [sys.executable, "-m", "mlflow", "models", "serve"]
        + ["-m", f"models:/{NAME}/1", "--env-manager", "local"]
        + ["--host", "127.0.0.1", "--port", str(port)],
        cwd=elsewhere,
        env=serve_env,
        ready=f"http://127.0.0.1:{port}/ping",
        log=tmp_path / "serve.log",
    ):
        status, answer = _post(f"http://127.0.0.1:{port}/invocations", _records(rows))
        assert status == 200, answer
        served = [record["prediction"] for record in answer["predictions"]]
        assert served == written
        # MLflow checks a request against the signature: a column it needs is missing.
        status, answer = _post(
            f"http://127.0.0.1:{port}/invocations", _records(rows[["Pclass"]])
        )
        assert status == 400 and "missing inputs" in answer["message"], answer
        # The model checks the rows against the data contract, as predict does.
        broken = rows.head(2).assign(Pclass=[1, 9])
        status, answer = _post(f"http://127.0.0.1:{port}/invocations", _records(broken))
        assert status == 400, answer
        assert "break the data contract" in answer["message"], answer
        assert "row 1, column 'Pclass', value 9" in answer["message"], answer
