"""Regenerate the shape files from the recorded real Azure answers (run by hand when recordings change).

    .venv/bin/python -m tests.azure_double.shapes.extract ../shared/azure-recordings

Each shape is one real response body with the recording's names replaced by placeholders
({name}, {resourceGroup}, {subscription}, {location}, {locationDisplay}, {locationCompact}); the
providers fill the placeholders and put the resource's own state on top, so every key real Azure
answers is present, with real defaults and nulls.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

# shape name -> (recording, interaction index, {recorded text: placeholder}); longest texts replaced first.
SOURCES = {
    "web_serverfarm": (
        "test_container_webapp_docker_image_name.yaml",
        1,
        {"webapp-plan000003": "{name}", "cli_test000001": "{resourceGroup}"},
    ),
    "web_site": (
        "test_container_webapp_docker_image_name.yaml",
        6,
        {
            "webapp-container000002": "{name}",
            "cli_test000001": "{resourceGroup}",
            "webapp-plan000003": "{plan}",
        },
    ),
    "web_site_config": (
        "test_container_webapp_docker_image_name.yaml",
        11,
        {"webapp-container000002": "{name}", "cli_test000001": "{resourceGroup}"},
    ),
    "aci_container_group": (
        "test_container_create.yaml",
        3,
        {"clicontainer000002": "{name}", "clitest.rg000001": "{resourceGroup}"},
    ),
    "pg_server": (
        "test_postgres_flexible_server_database_mgmt.yaml",
        11,
        {"azuredbclitest-000002": "{name}", "clitest.rg000001": "{resourceGroup}"},
    ),
    "pg_database": (
        "test_postgres_flexible_server_database_mgmt.yaml",
        16,
        {
            "azuredbclitest-000002": "{server}",
            "database000003": "{name}",
            "clitest.rg000001": "{resourceGroup}",
        },
    ),
    "aks_cluster": (
        "test_aks_create_no_ssh_key.yaml",
        10,
        {"cliakstest000002": "{name}", "clitest000001": "{resourceGroup}"},
    ),
}
COMMON = {
    "00000000-0000-0000-0000-000000000000": "{subscription}",
    "Australia East": "{locationDisplay}",
    "AustraliaEast": "{locationCompact}",
    "australiaeast": "{location}",
    "Canada Central": "{locationDisplay}",
    "canadacentral": "{location}",
    "westus2": "{location}",
    "westus": "{location}",
}


def _replace(value, mapping):
    if isinstance(value, dict):
        return {k: _replace(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, mapping) for v in value]
    if isinstance(value, str):
        for text in sorted(mapping, key=len, reverse=True):
            value = value.replace(text, mapping[text])
    return value


def main(recordings: str) -> None:
    here = Path(__file__).parent
    for shape, (recording, index, names) in SOURCES.items():
        interactions = yaml.safe_load((Path(recordings) / recording).read_text())["interactions"]
        body = json.loads(interactions[index]["response"]["body"]["string"])
        (here / f"{shape}.json").write_text(json.dumps(_replace(body, {**COMMON, **names}), indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
