# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure's naming rules, in one place: the modules check names before sending anything.

Azure rejects a bad name only when the write arrives, after earlier tasks of a play already
changed things; checking here makes a typo fail first.
"""

from __future__ import annotations

import re

from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError

# Container groups and the containers in them follow the same rule.
_CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# kind -> (what messages call it, pattern, the rule in words)
NAME_RULES = {
    "resource_group": (
        "resource group",
        re.compile(r"^[-\w.()]{0,89}[-\w()]$"),
        "1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period",
    ),
    "app_service_plan": (
        "App Service plan",
        re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,59}$"),
        "1-60 letters, digits and hyphens, starting with a letter or digit",
    ),
    "web_app": (
        "web app",
        re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])$"),
        "2-60 letters, digits and hyphens, not starting or ending with a hyphen",
    ),
    "slot": (
        "slot",
        re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,57}[A-Za-z0-9])?$"),
        "letters, digits and hyphens",
    ),
    "container_group": (
        "container group",
        _CONTAINER_NAME,
        "1-63 lower-case letters, digits and single hyphens, not starting or ending with a hyphen",
    ),
    "container": ("container", _CONTAINER_NAME, "1-63 lower-case letters, digits and single hyphens"),
    "dns_label": (
        "DNS name label",
        re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$"),
        "1-63 lower-case letters, digits and hyphens, starting with a letter",
    ),
    "postgres_server": (
        "PostgreSQL server",
        re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"),
        "3-63 lower-case letters, digits and hyphens, not starting or ending with a hyphen",
    ),
    "postgres_database": (
        "database",
        re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$"),
        "1-63 letters, digits, _, $ and -, starting with a letter or _",
    ),
    "firewall_rule": ("firewall rule", re.compile(r"^[-\w.]{1,128}$"), "1-128 letters, digits, _, - and ."),
}


def name_pattern(kind):
    return NAME_RULES[kind][1]


def name_problem(kind, name):
    """'' when `name` is valid for `kind`, else the message the modules fail with."""
    label, pattern, rule = NAME_RULES[kind]
    if isinstance(name, str) and pattern.match(name):
        return ""
    return f"Invalid {label} name {name!r}: {rule}."


def require_valid_name(kind, name):
    problem = name_problem(kind, name)
    if problem:
        raise AzureModuleError(problem)
