# Copyright: PAPR Memory engineers
# Apache-2.0
"""The deployment network's layout, derived from one address space, so the inventory sets one value.
The deployment model and the network_layout filter both use it (one derivation)."""

from __future__ import annotations

import ipaddress

# Subnets take a sixteenth of the space each (apps, temporal, postgres); AKS the upper half.
SUBNET_BITS = 4
# Largest prefix that still leaves every subnet a /24 (App Service needs /28+, AKS far more).
LONGEST_SPACE_PREFIX = 20


def network_layout_problem(address_space, variable):
    """'' when the address space can hold the deployment's subnets, else a message naming the variable."""
    try:
        space = ipaddress.IPv4Network(str(address_space), strict=True)
    except ValueError as exc:
        return f"{variable}={address_space!r} is not an IPv4 network in CIDR notation ({exc})"
    if space.prefixlen > LONGEST_SPACE_PREFIX:
        return f"{variable}={address_space!r} is too small: give a /{LONGEST_SPACE_PREFIX} or larger"
    if not space.is_private:
        return f"{variable}={address_space!r} is not a private address range (10/8, 172.16/12, 192.168/16)"
    return ""


def subnet_layout(address_space):
    """Subnet prefixes by role: apps, temporal, postgres (each 1/16 of the space), aks (the upper half).
    Raises ValueError with network_layout_problem's message for a space that cannot hold them."""
    problem = network_layout_problem(address_space, "address space")
    if problem:
        raise ValueError(problem)
    space = ipaddress.IPv4Network(str(address_space))
    small = list(space.subnets(prefixlen_diff=SUBNET_BITS))
    return {
        "apps": str(small[0]),
        "temporal": str(small[1]),
        "postgres": str(small[2]),
        "aks": str(list(space.subnets(prefixlen_diff=1))[1]),
    }
