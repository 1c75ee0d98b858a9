"""A job template's job, launched the way AWX launches it, in the execution environment image.

What AWX hands a job, rebuilt from the configuration in awx/:
- the project: the repository's files in <private data dir>/project;
- the inventory: what AWX's inventory update stored (`ansible-inventory --list --export` of the
  SCM source, run in the EE), plus the inventory's own variables, given to the job as an
  executable inventory script;
- extra variables: the template's, then the survey defaults that pass validation, then answers
  (a required question without an answer refuses the launch, as AWX does);
- the environment: each credential's injectors (custom types rendered with their inputs, file
  injectors written under the private data dir; AWX's built-in Azure Resource Manager injection),
  and AWX's ANSIBLE_* settings;
- ansible-runner with process isolation (podman) in the EE image: nothing from the host's venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import ansible_runner
import jinja2.sandbox

from tests.awx import awx_config
from tests.awx.awx_config import REPO

CONTAINER_ROOT = "/runner"
_AWX_JINJA = jinja2.sandbox.ImmutableSandboxedEnvironment()


class LaunchRefused(Exception):
    """AWX would not start the job (a survey answer missing or invalid)."""


def survey_extra_vars(template: dict, answers: dict) -> dict:
    """AWX: the template's extra_vars, the survey defaults that validate, then the answers."""
    extra_vars = dict(template.get("extra_vars") or {})
    for question in awx_config.survey_questions(template):
        variable = question["variable"]
        value = answers.get(variable, question.get("default"))
        if value is None or (value == "" and question["type"] != "text"):
            if question["required"]:
                raise LaunchRefused(f"'{variable}' value missing")
            continue
        if question["type"] == "multiplechoice" and value not in question["choices"]:
            raise LaunchRefused(
                f"Value {value} for '{variable}' expected to be one of {question['choices']}."
            )
        if question["type"] in ("text", "textarea", "password"):
            if not question.get("min", 0) <= len(value) <= question.get("max", 1024):
                raise LaunchRefused(
                    f"'{variable}' value {value} is not between the minimum and maximum length"
                )
        extra_vars[variable] = value
    return extra_vars


def credential_environment(name: str, private_data_dir: Path, inputs: dict | None = None) -> dict[str, str]:
    """The environment one credential gives a job; its inputs are the configuration's unless given."""
    credential = awx_config.by_name("controller_credentials")[name]
    inputs = inputs if inputs is not None else credential["inputs"]
    if credential["credential_type"] == awx_config.AZURE_RM_TYPE:
        return {
            env: str(inputs[key]) for key, env in awx_config.AZURE_RM_INJECTION.items() if inputs.get(key)
        }
    return custom_credential_environment(credential["credential_type"], inputs, private_data_dir)


def custom_credential_environment(type_name: str, inputs: dict, private_data_dir: Path) -> dict[str, str]:
    injectors = awx_config.credential_types()[type_name]["injectors"]
    filenames = {}
    for key, template in (injectors.get("file") or {}).items():
        name = key.removeprefix("template.")
        path = private_data_dir / "credential_files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_AWX_JINJA.from_string(template).render(inputs))
        path.chmod(0o640)
        filenames[name] = f"{CONTAINER_ROOT}/{path.relative_to(private_data_dir)}"
    namespace = {**inputs, "tower": {"filename": filenames}}
    return {
        env: _AWX_JINJA.from_string(template).render(namespace) for env, template in injectors["env"].items()
    }


def awx_ansible_environment() -> dict[str, str]:
    """The settings AWX gives every job (awx/main/tasks/jobs.py), as far as they matter here."""
    return {
        "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
        "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        # AWX 24 still sets the plural name, which ansible-core 2.19 no longer reads: the EE's own
        # ANSIBLE_COLLECTIONS_PATH decides.
        "ANSIBLE_COLLECTIONS_PATHS": (
            f"{CONTAINER_ROOT}/requirements_collections:~/.ansible/collections:/usr/share/ansible/collections"
        ),
        "ANSIBLE_ROLES_PATH": (
            f"{CONTAINER_ROOT}/requirements_roles:~/.ansible/roles:/usr/share/ansible/roles"
        ),
    }


def podman_environment() -> dict[str, str]:
    sys.path.insert(0, str(REPO))
    from scripts.image import engine_environment

    return engine_environment()


def copy_project(dest: Path) -> None:
    """The project as AWX's project update leaves it: the repository's files (tracked, or new and
    not ignored), without .git."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / name.decode()
        target = dest / name.decode()
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)


def run_in_ee(
    image: str, command: list[str], private_data_dir: Path | None = None
) -> subprocess.CompletedProcess:
    """A command in the EE (network of the host: the double and the stand-in listen on loopback),
    as the user who owns the private data dir (see AwxJob.run)."""
    mounts = ["-v", f"{private_data_dir}:{CONTAINER_ROOT}:Z", "--workdir", f"{CONTAINER_ROOT}/project"]
    return subprocess.run(
        [
            "podman",
            "run",
            "--rm",
            "--network=host",
            "--user=0",
            *(mounts if private_data_dir else []),
            image,
            *command,
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=podman_environment(),
        timeout=300,
    )


def export_inventory(image: str, private_data_dir: Path, source_path: str) -> dict:
    """AWX's inventory update: `ansible-inventory --list --export` of the source, in the EE. Host
    and group variables stay as written (the secrets' lookups are evaluated at job time)."""
    result = run_in_ee(
        image,
        # As AWX's inventory update: a source that does not parse fails the update (not an empty
        # inventory).
        [
            "env",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED=True",
            "ansible-inventory",
            "-i",
            source_path,
            "--list",
            "--export",
            "--playbook-dir",
            ".",
        ],  # fmt: skip
        private_data_dir,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def write_inventory_script(private_data_dir: Path, data: dict) -> None:
    """The job's inventory: an executable that prints the stored inventory, as AWX writes it."""
    script = private_data_dir / "inventory" / "hosts"
    script.parent.mkdir(parents=True, exist_ok=True)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    script.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        f"data = {json.dumps(data)!r}\nhostvars = {json.dumps(hostvars)!r}\n"
        "if '--host' in sys.argv:\n"
        "    print(json.dumps(json.loads(hostvars).get(sys.argv[-1], {})))\n"
        "else:\n"
        "    print(data)\n"
    )
    script.chmod(0o755)


@dataclass
class JobResult:
    status: str
    rc: int
    stdout: str
    stats: dict = field(default_factory=dict)

    def recap(self, host: str = "localhost") -> dict[str, int]:
        return {kind: counts.get(host, 0) for kind, counts in self.stats.items() if isinstance(counts, dict)}


@dataclass
class AwxJob:
    """One launch of a job template in the EE image."""

    image: str
    template: dict
    private_data_dir: Path
    inventory_variables: dict = field(default_factory=dict)
    extra_credentials: dict[str, dict] = field(default_factory=dict)  # custom type name -> inputs
    credential_inputs: dict[str, dict] = field(default_factory=dict)  # credential name -> inputs
    answers: dict = field(default_factory=dict)

    def prepare(self) -> tuple[dict, dict]:
        extra_vars = survey_extra_vars(self.template, self.answers)  # refuses before anything runs
        (self.private_data_dir / "project").mkdir(parents=True, exist_ok=True)
        copy_project(self.private_data_dir / "project")
        source = next(
            s
            for s in awx_config.load()["controller_inventory_sources"]
            if s["inventory"] == self.template["inventory"]
        )
        inventory = export_inventory(self.image, self.private_data_dir, source["source_path"])
        inventory.setdefault("all", {}).setdefault("vars", {}).update(self.inventory_variables)
        write_inventory_script(self.private_data_dir, inventory)
        env = awx_ansible_environment()
        for name in self.template["credentials"]:
            env.update(credential_environment(name, self.private_data_dir, self.credential_inputs.get(name)))
        for type_name, inputs in self.extra_credentials.items():
            env.update(custom_credential_environment(type_name, inputs, self.private_data_dir))
        return extra_vars, env

    def run(self) -> JobResult:
        extra_vars, env = self.prepare()
        os.environ.setdefault("CONTAINERS_CONF", podman_environment()["CONTAINERS_CONF"])
        runner = ansible_runner.run(
            private_data_dir=str(self.private_data_dir),
            playbook=self.template["playbook"],
            extravars=extra_vars,
            envvars=env,
            process_isolation=True,
            process_isolation_executable="podman",
            container_image=self.image,
            # The job's user owns the private data dir, as with AWX's rootless podman
            # (--userns=keep-id); here that user is root.
            container_options=["--network=host", "--user=0"],
            quiet=True,
            timeout=900,
        )
        return JobResult(runner.status, runner.rc, runner.stdout.read(), runner.stats or {})
