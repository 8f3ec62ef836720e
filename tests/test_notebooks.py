"""Every notebook runs top to bottom for every sample client, as papermill runs it for reports.

(nbval in `make test` covers the notebooks' default parameters; this covers the other clients.)
"""

import papermill
import pytest

from workbook import paths

SAMPLE_CLIENTS = ["coffee-shop", "online-store", "home-services"]
NOTEBOOKS = sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.parametrize("client", SAMPLE_CLIENTS)
def test_notebook_runs_for_sample_client(notebook, client, samples, tmp_path):
    out = tmp_path / f"{notebook.stem}-{client}.ipynb"
    executed = papermill.execute_notebook(str(notebook), str(out), parameters={"client": client},
                                          progress_bar=False, kernel_name="python3")
    errors = [o for cell in executed.cells for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    texts = " ".join(str(o.get("data", {}).get("text/markdown", ""))
                     for cell in executed.cells for o in cell.get("outputs", []))
    assert "Traceback" not in texts
