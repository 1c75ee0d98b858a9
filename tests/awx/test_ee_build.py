"""`ansible-builder create` makes the EE's build context with no network at all."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import textwrap

import pytest
import yaml

from tests.awx.awx_config import REPO

# In an empty network namespace: every input of the context must be a local file.
STAGE_AND_CREATE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from scripts import ee
    work = Path({work!r})
    ee.stage_collections(work / "build" / "ee" / "collections")
    ee.create_context(work / "context", definition=work / "execution-environment.yml")
    """
)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
def test_ansible_builder_create_needs_no_network(tmp_path):
    shutil.copy(REPO / "execution-environment.yml", tmp_path)
    script = STAGE_AND_CREATE.format(repo=str(REPO), work=str(tmp_path))
    result = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", script], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]

    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS" in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    staged = sorted(path.name for path in (context / "_build" / "collections").glob("*.tar.gz"))
    listed = sorted(entry["name"].removeprefix("collections/") for entry in requirements["collections"])
    assert listed == staged
    assert any(name.startswith("papr-memory-") for name in staged)
    # What the build's introspection reads: the collection's declared requirements.
    papr = next((context / "_build" / "collections").glob("papr-memory-*.tar.gz"))
    with tarfile.open(papr) as archive:
        names = set(archive.getnames())
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= names
