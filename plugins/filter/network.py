# Copyright: PAPR Memory engineers
# Apache-2.0
"""The deployment network's layout as filters (the derivation lives in module_utils/network_layout.py,
which the deployment model uses too)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.papr.memory.plugins.module_utils.network_layout import (
    network_layout_problem,
    subnet_layout,
)


def network_layout(address_space):
    """Subnet prefixes by role: apps, temporal, postgres (each 1/16 of the space), aks (the upper half)."""
    try:
        return subnet_layout(address_space)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    def filters(self):
        return {"network_layout": network_layout, "network_layout_problem": network_layout_problem}
