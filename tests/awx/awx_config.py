"""The AWX configuration in awx/ (infra.aap_configuration's variable format) as AWX would hold it,
and what the playbooks and inventories it points at read.

Loading renders each value like the import does (Ansible templating with the importer's
variables), so what comes out is what AWX stores: escaped Jinja (`{{ '{{' }} x {{ '}}' }}`) becomes
the `{{ x }}` that AWX evaluates later, at job time.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import jinja2
import jinja2.meta
import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "awx"
COLLECTION = "papr.memory"

# Values the importer supplies (vaulted in real use); the tests' own.
IMPORT_VARS = {
    "papr_awx_ee_image": "registry.example.invalid/papr/papr-memory-ee:0.1.0",
    "papr_awx_scm_url": "https://git.example.invalid/papr/memory.git",
    **{
        f"papr_awx_{env}_{name}": f"{env}-{name}"
        for env in ("dev", "prod")
        for name in (
            "azure_subscription_id",
            "azure_client_id",
            "azure_secret",
            "azure_tenant",
            "image",
            "database_password",
            "database_admin_password",
            "temporal_database_password",
            "api_keys",
        )
    },
}

# AWX's built-in "Microsoft Azure Resource Manager" credential: what it injects, by input.
AZURE_RM_INJECTION = {
    "subscription": "AZURE_SUBSCRIPTION_ID",
    "client": "AZURE_CLIENT_ID",
    "secret": "AZURE_SECRET",
    "tenant": "AZURE_TENANT",
    "cloud_environment": "AZURE_CLOUD_ENVIRONMENT",
}
AZURE_RM_TYPE = "Microsoft Azure Resource Manager"

# YAML values, not HTML: nothing to escape.
_IMPORT = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701
# Finding names needs only the syntax (not Ansible's filters and tests).
_PARSE = jinja2.Environment(autoescape=False)  # noqa: S701
_ENV_LOOKUP = re.compile(r"""lookup\(\s*['"](?:ansible\.builtin\.)?env['"]\s*,\s*['"]([A-Z0-9_]+)['"]""")
# Keys whose values are bare Jinja expressions (no {{ }}).
_EXPRESSION_KEYS = {"when", "that", "failed_when", "changed_when", "until"}


def _render(value, variables: dict):
    if isinstance(value, str):
        return _IMPORT.from_string(value).render(variables) if "{" in value else value
    if isinstance(value, list):
        return [_render(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _render(item, variables) for key, item in value.items()}
    return value


@cache
def load() -> dict:
    """Every variable of awx/*.yml, rendered as the import renders it."""
    merged: dict = {}
    for path in sorted(CONFIG_DIR.glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return _render(merged, IMPORT_VARS)


def by_name(kind: str) -> dict[str, dict]:
    return {item["name"]: item for item in load()[kind]}


def credential_types() -> dict[str, dict]:
    return by_name("controller_credential_types")


def templates() -> dict[str, dict]:
    return by_name("controller_templates")


def survey_questions(template: dict) -> list[dict]:
    if not template.get("survey_enabled"):
        return []
    return (template.get("survey_spec") or {}).get("spec", [])


# --- what playbooks read ----------------------------------------------------------------------------


def _strings(node, key=None):
    """(key, string) for every string in a YAML tree."""
    if isinstance(node, str):
        yield key, node
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, key)
    elif isinstance(node, dict):
        for child_key, item in node.items():
            yield from _strings(item, child_key)


def jinja_names(text: str, expression: bool = False) -> set[str]:
    """Variable names a template (or a bare expression) reads."""
    source = "{{ " + text + " }}" if expression and "{{" not in text else text
    try:
        return set(jinja2.meta.find_undeclared_variables(_PARSE.parse(source)))
    except jinja2.TemplateSyntaxError:
        return set()


def _role_dir(name: str) -> Path | None:
    short = name.removeprefix(COLLECTION + ".")
    path = REPO / "roles" / short
    return path if "." not in short and path.is_dir() else None


def _roles_named(node) -> set[str]:
    """Roles a play or task list uses: roles:, include_role / import_role (a Jinja name is
    expanded with the task's literal loop)."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _roles_named(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "roles" and isinstance(value, list):
                found |= {
                    entry if isinstance(entry, str) else entry.get("role", entry.get("name"))
                    for entry in value
                }
            elif key.endswith(("include_role", "import_role")) and isinstance(value, dict):
                name = value.get("name", "")
                loop = node.get("loop")
                if "{{" in name and isinstance(loop, list):
                    var = (node.get("loop_control") or {}).get("loop_var", "item")
                    found |= {_IMPORT.from_string(name).render({var: item}) for item in loop}
                else:
                    found.add(name)
            found |= _roles_named(value)
    return found


def deployment_model_inputs() -> set[str]:
    """The inventory variables the deployment model (plugins/filter/deployment.py, run by the
    deployment role) reads: the keys of its INPUTS table."""
    source = (REPO / "plugins" / "filter" / "deployment.py").read_text()
    table = source[source.index("\nINPUTS = {") :]
    table = table[: table.index("\n}\n")]
    return set(re.findall(r'^\s+"([a-z_]+)":', table, re.M))


def _role_reads(role: Path, seen: set[Path]) -> set[str]:
    """A role's argument-spec options (every entry point), with its dependencies'; the
    deployment role also reads the deployment model's inputs."""
    if role in seen:
        return set()
    seen.add(role)
    names: set[str] = deployment_model_inputs() if role.name == "deployment" else set()
    spec_file = role / "meta" / "argument_specs.yml"
    if spec_file.is_file():
        for entry in (yaml.safe_load(spec_file.read_text()).get("argument_specs") or {}).values():
            names |= set((entry or {}).get("options") or {})
    meta = role / "meta" / "main.yml"
    dependencies = (
        (yaml.safe_load(meta.read_text()) or {}).get("dependencies") or [] if meta.is_file() else []
    )
    for dependency in dependencies:
        name = dependency if isinstance(dependency, str) else dependency.get("role", dependency.get("name"))
        if (path := _role_dir(name)) is not None:
            names |= _role_reads(path, seen)
    for task_file in (role / "tasks").glob("*.yml"):
        for child in _roles_named(yaml.safe_load(task_file.read_text())):
            if (path := _role_dir(child)) is not None:
                names |= _role_reads(path, seen)
    return names


def playbook_reads(playbook: Path, seen: set[Path] | None = None) -> set[str]:
    """The variables a playbook reads: names in its own Jinja (and its imported playbooks',
    vars files' and included task files'), and the argument-spec options of the roles it runs."""
    seen = set() if seen is None else seen
    if playbook in seen or not playbook.is_file():
        return set()
    seen.add(playbook)
    tree = yaml.safe_load(playbook.read_text()) or []
    names: set[str] = set()
    for key, text in _strings(tree):
        names |= jinja_names(text, expression=key in _EXPRESSION_KEYS)
        if key in ("import_playbook", "ansible.builtin.import_playbook", "vars_files") or (
            key and key.endswith(("include_tasks", "import_tasks")) or key == "file"
        ):
            if text.endswith((".yml", ".yaml")) and "{{" not in text:
                names |= playbook_reads((playbook.parent / text).resolve(), seen)
    for role in _roles_named(tree):
        if (path := _role_dir(role)) is not None:
            names |= _role_reads(path, seen)
    return names


# --- what inventories read and define -------------------------------------------------------------


def inventory_variables(inventory: Path) -> set[str]:
    """The variables an inventory directory sets (group_vars, host_vars, vars in hosts.yml)."""
    names: set[str] = set()
    for path in inventory.rglob("*.yml"):
        tree = yaml.safe_load(path.read_text()) or {}
        if path.name in ("hosts.yml", "hosts.yaml"):
            stack = [tree]
            while stack:
                group = stack.pop()
                if isinstance(group, dict):
                    names |= set(group.get("vars") or {})
                    stack += [*(group.get("children") or {}).values(), *(group.get("hosts") or {}).values()]
                    stack += [
                        value for key, value in group.items() if key not in ("vars", "children", "hosts")
                    ]
        else:
            names |= set(tree)
    return names


def inventory_env_reads(inventory: Path) -> set[str]:
    """Environment variables an inventory reads with lookup('ansible.builtin.env', NAME)."""
    names: set[str] = set()
    for path in inventory.rglob("*.yml"):
        names |= set(_ENV_LOOKUP.findall(path.read_text()))
    return names


def azure_auth_env_reads() -> set[str]:
    """Environment variables the collection's Azure modules read (module_utils/azure_auth.py)."""
    source = (REPO / "plugins" / "module_utils" / "azure_auth.py").read_text()
    groups = re.findall(r"env_fallback,\s*\[([^\]]+)\]", source)
    return {name for group in groups for name in re.findall(r'"([A-Z_]+)"', group)}
