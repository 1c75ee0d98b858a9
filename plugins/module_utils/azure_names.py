# Copyright: PAPR Memory engineers
# Apache-2.0
"""Azure's naming rules, in one place: the modules check names before sending anything.

Azure rejects a bad name only when the write arrives, after earlier tasks of a play already
changed things; checking here makes a typo fail first.
"""

from __future__ import annotations

import difflib
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
        "DNS label",
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
    "aks_cluster": (
        "AKS cluster",
        re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$"),
        "1-63 letters, digits, hyphens and underscores, starting and ending with a letter or digit",
    ),
    "aks_dns_prefix": (
        "AKS DNS prefix",
        re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,52}[A-Za-z0-9])?$"),
        "1-54 letters, digits and hyphens, starting and ending with a letter or digit",
    ),
    "log_analytics_workspace": (
        "Log Analytics workspace",
        re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$"),
        "4-63 letters, digits and hyphens, starting and ending with a letter or digit",
    ),
    "aks_node_pool": (
        "AKS node pool",
        re.compile(r"^[a-z][a-z0-9]{0,11}$"),
        "1-12 lower-case letters and digits, starting with a letter",
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


# Other values Azure only rejects when the write arrives. The pre-flight (plugins/filter/
# deployment.py) checks them with these rules, so a typo fails before the first request.

# Region names of Azure's public, US Government and China clouds, as ARM spells them (lower
# case, no spaces). Azure Stack Hub regions are the operator's own: a deployment adds them.
AZURE_REGIONS = frozenset(
    """
    australiacentral australiacentral2 australiaeast australiasoutheast austriaeast belgiumcentral
    brazilsouth brazilsoutheast canadacentral canadaeast centralindia centralus centraluseuap
    chilecentral eastasia eastus eastus2 eastus2euap francecentral francesouth germanynorth
    germanywestcentral indonesiacentral israelcentral italynorth japaneast japanwest jioindiacentral
    jioindiawest koreacentral koreasouth malaysiawest mexicocentral newzealandnorth northcentralus
    northeurope norwayeast norwaywest polandcentral qatarcentral southafricanorth southafricawest
    southcentralus southeastasia southindia spaincentral swedencentral swedensouth switzerlandnorth
    switzerlandwest uaecentral uaenorth uksouth ukwest westcentralus westeurope westindia westus
    westus2 westus3
    usgovarizona usgovtexas usgovvirginia usdodcentral usdodeast
    chinaeast chinaeast2 chinaeast3 chinanorth chinanorth2 chinanorth3
    """.split()
)

# Logins Azure Database for PostgreSQL refuses as the administrator.
RESERVED_POSTGRES_LOGINS = frozenset(
    ("azure_superuser", "azure_pg_admin", "admin", "administrator", "root", "guest", "public")
)
POSTGRES_LOGIN_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
POSTGRES_BACKUP_RETENTION_DAYS = (7, 35)


def region_problem(location, known=()):
    """'' when `location` is an Azure region name (or one of `known`), else why not."""
    regions = AZURE_REGIONS | {str(name).lower() for name in known}
    if isinstance(location, str) and location in regions:
        return ""
    text = str(location or "")
    squashed = text.replace(" ", "").lower()
    if squashed in regions:
        return f"{text!r} is written {squashed!r} in ARM"
    close = difflib.get_close_matches(squashed, sorted(regions), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{text!r} is not an Azure region{hint}"


def postgres_login_problem(login):
    """'' when Azure accepts `login` as the flexible server's administrator, else why not."""
    if not isinstance(login, str) or not POSTGRES_LOGIN_PATTERN.match(login):
        return f"{login!r} must be 1-63 letters, digits and _, starting with a letter or _"
    if login.lower() in RESERVED_POSTGRES_LOGINS or login.lower().startswith("pg_"):
        return f"{login!r} is reserved by Azure"
    return ""


def postgres_password_problem(password, login=""):
    """'' when the password meets Azure Database for PostgreSQL's policy, else why not (never
    quoting the password): 8-128 characters from three of upper case, lower case, digits and
    others, not containing the login."""
    if not isinstance(password, str) or not password.strip():
        return "it is empty"
    if not 8 <= len(password) <= 128:
        return f"it has {len(password)} characters, 8-128 are needed"
    if any(ord(char) < 32 or ord(char) == 127 for char in password):
        return "it contains a control character (a newline?)"
    classes = (str.isupper, str.islower, str.isdigit, lambda char: not char.isalnum())
    kinds = sum(any(test(char) for char in password) for test in classes)
    if kinds < 3:
        return f"it uses {kinds} of 4 kinds of characters (upper, lower case, digits, others), 3 needed"
    if login and login.lower() in password.lower():
        return "it contains the login name"
    return ""
