"""What `make fidelity` gives azure.azcollection resolves to the double, as azure-cli-core reads it."""

from __future__ import annotations

import requests

from tests.azure_double.azcollection.run import RECAP, client_env


def test_the_custom_cloud_resolves_to_the_double(azure_double, tmp_path):
    env = client_env(azure_double, str(tmp_path))
    # azure-cli-core iterates the clouds of ARM_CLOUD_METADATA_URL: it must be the list form
    clouds = requests.get(env["ARM_CLOUD_METADATA_URL"], verify=env["REQUESTS_CA_BUNDLE"], timeout=10).json()
    assert isinstance(clouds, list)
    # azure.azcollection picks the known cloud whose resource manager is AZURE_CLOUD_ENVIRONMENT
    assert [c["resourceManager"] for c in clouds] == [env["AZURE_CLOUD_ENVIRONMENT"]]
    assert clouds[0]["authentication"]["loginEndpoint"] == azure_double.base_url + "/"
    assert env["AZURE_CONFIG_DIR"] == str(tmp_path)  # no cached endpoints of an earlier double
    assert not {
        k for k in env if k.startswith("ANSIBLE_") and k not in ("ANSIBLE_CONFIG", "ANSIBLE_LOCAL_TEMP")
    }


def test_the_recap_line_is_read():
    line = "localhost : ok=7    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0"
    assert RECAP.search(line).groups() == ("7", "0", "0", "0")
