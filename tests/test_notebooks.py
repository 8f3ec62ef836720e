"""Every notebook runs top to bottom for every sample client, as `workbook report` runs it.

The session's `sample_reports` batch executes each notebook once per sample client with
papermill; this checks that none of them raised or printed a traceback. (nbval in `make test`
covers the notebooks' default parameters.)
"""

import pytest
from render_fixtures import SAMPLE_CLIENTS, executed_notebook, markdown_text, outputs_of

from workbook.core import paths

NOTEBOOKS = sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.parametrize("client", SAMPLE_CLIENTS)
def test_notebook_runs_for_sample_client(notebook, client, sample_reports):
    executed = executed_notebook(sample_reports, client, notebook.stem)
    errors = [o for o in outputs_of(executed) if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    assert "Traceback" not in markdown_text(executed)
    assert executed.metadata["papermill"]["parameters"]["client"] == client
