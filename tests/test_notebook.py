"""The exploration notebook runs top to bottom (simulated night, and a real file when the data is there)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "explore_night.ipynb"
KERNEL = "kneeemg-test"


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A Jupyter path holding a kernel spec that starts this very interpreter.

    The kernel spec installed with ipykernel calls whatever ``python`` is first on PATH,
    which need not be this environment's; this one names ``sys.executable``.
    """
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kneeemg test", "language": "python",
    }))
    return root


def _run(kernel_dir: Path, monkeypatch: pytest.MonkeyPatch, data: str | None, cwd: Path) -> list:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))
    if data is None:
        monkeypatch.delenv("KNEEEMG_DATA", raising=False)
    else:
        monkeypatch.setenv("KNEEEMG_DATA", data)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name=KERNEL, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _text(outputs: list) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def test_notebook_runs_on_a_simulated_night(kernel_dir, monkeypatch, tmp_path):
    outputs = _run(kernel_dir, monkeypatch, None, tmp_path)
    text = _text(outputs)
    assert "simulated night" in text and "usable_s" in text and "sensitivity" in text
    assert sum(o.get("output_type") == "display_data" for o in outputs) >= 2  # the trace and the timeline


@pytest.mark.data
def test_notebook_runs_on_a_real_recording(kernel_dir, monkeypatch, tmp_path, data_dir):
    outputs = _run(kernel_dir, monkeypatch, str(data_dir), tmp_path)
    assert "UCI 3Nsen.txt" in _text(outputs)


def test_notebook_file_is_clean():
    nb = json.loads(NOTEBOOK.read_text())
    assert nb["cells"] and all(c.get("execution_count") is None for c in nb["cells"] if c["cell_type"] == "code")
    assert os.path.getsize(NOTEBOOK) < 50_000
