"""Run the collection's Azure modules for real: real SDK clients against the Azure double, each task's
module in a process of its own (the module host, or ansible-playbook where a test needs the
controller)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from azure.mgmt.resource.resources import ResourceManagementClient

from tests.azure_double.pytest_plugin import azure_double, azure_double_server  # noqa: F401
from tests.module_host import MODULE_HOST_TASK_KEYWORDS, module_host  # noqa: F401
from tests.playbook_env import json_callback_env

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "collections"))  # makes ansible_collections.papr.memory importable
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
# Names of environment variables a developer's shell may carry that would point the modules elsewhere.
FOREIGN_AZURE_ENV = ("AZURE_", "ARM_", "MSI_", "IDENTITY_", "PAPR_AZURE_")


@dataclass
class PlaybookRun:
    """One run of a task list: through ansible-playbook (stdout is the json callback's) or through
    the module host (stdout and stderr are the modules', the results what Ansible would make)."""

    rc: int
    stdout: str
    stderr: str
    writes: int
    requests: list
    task_results: list | None = None  # the module host's; a playbook's are parsed from stdout

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def results(self) -> list[dict]:
        """Per-task results, in order."""
        if self.task_results is not None:
            return self.task_results
        data = json.loads(self.stdout[self.stdout.index("{") :])
        return [task["hosts"]["localhost"] for play in data["plays"] for task in play["tasks"]]

    def result(self, index: int = -1) -> dict:
        return self.results()[index]


def _clean_environment(double) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_AZURE_ENV)}
    env.update(double.env)
    return dict(
        json_callback_env(env), ANSIBLE_INVENTORY_UNPARSED_WARNING="false", PAPR_AZURE_POLLING_INTERVAL="0"
    )


def resource_id(double, group, provider_path=""):
    """ARM id of a resource group, or of `provider_path` ("Microsoft.Web/sites/x") in it."""
    group_id = f"/subscriptions/{double.subscription_id}/resourceGroups/{group}"
    return f"{group_id}/providers/{provider_path}" if provider_path else group_id


def make_resource_group(double, name, location="westeurope"):
    """Create a resource group straight in the double (the SDK, no module), as a test's starting point."""
    double.client(ResourceManagementClient).resource_groups.create_or_update(name, {"location": location})


def sent(result):
    """The operations of a module result as (action, failed) pairs."""
    return [(op["action"], op.get("failed", False)) for op in result["operations"]]


def failures_of(run_tasks, tasks):
    """Run every task (each may fail) in one playbook; (run, the failure messages in task order)."""
    run = run_tasks([{**task, "ignore_errors": True} for task in tasks])
    return run, [result.get("msg", "") if result.get("failed") else "" for result in run.results()]


# Values the double makes up anew for every write (creation times, etags, GUIDs): two worlds that
# differ only in these are the same starting point.
VOLATILE_KEY = re.compile(r"(?i)time|etag|guid")
# State -> the state `tasks` left in it: a run made once per session (xdist worker), restored after.
_SETUP_STATES: dict[str, dict] = {}


def without_volatile(value):
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if not VOLATILE_KEY.search(k)}
    if isinstance(value, list):
        return [without_volatile(item) for item in value]
    return value


def _needs_the_controller(tasks, verbosity) -> bool:
    """Whether the run must go through ansible-playbook: its -v output is read, or a task uses what
    only a playbook has (blocks, roles, task vars, templates)."""
    if verbosity:
        return True
    for task in tasks:
        modules = [key for key in task if key not in MODULE_HOST_TASK_KEYWORDS]
        if len(modules) != 1 or not modules[0].startswith("papr.memory.") or "{{" in json.dumps(task):
            return True
    return False


@pytest.fixture
def run_tasks(azure_double, module_host, tmp_path):  # noqa: F811 - the fixture imported above
    """run_tasks(tasks, check=False, diff=False, verbosity=0, env=None, expect_rc=0, playbook=False)
    -> PlaybookRun.

    The tasks run in the module host (tests/module_host.py: each task's module in a process of its
    own, with the arguments ansible-playbook would pass) unless the run needs the controller (see
    _needs_the_controller) or playbook=True: then as a playbook. Either way the environment is the same, rc is
    ansible-playbook's (2 when a task failed without ignore_errors, which ends the run) and each task's
    result is what the json callback shows. Clears the double's request log first, so `writes`
    counts what this one run changed.
    run_tasks.setup(tasks): only the state `tasks` leave, for a test's starting point (below).
    """
    counter = iter(range(1000))

    def environment_for(env) -> dict[str, str]:
        environment = _clean_environment(azure_double)
        # Each test starts without cached tokens or metadata; the runs of one test share them.
        environment["PAPR_AZURE_CACHE_DIR"] = str(tmp_path / "azure-cache")
        for name, value in (env or {}).items():  # None removes a variable
            if value is None:
                environment.pop(name, None)
            else:
                environment[name] = value
        return environment

    def through_playbook(tasks, environment, *, check, diff, verbosity) -> tuple[int, str, str, None]:
        playbook = tmp_path / f"play-{next(counter)}.yml"
        play = {
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
            "tasks": tasks,
        }
        playbook.write_text(yaml.safe_dump([play], sort_keys=False))
        command = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(playbook)]
        command += ["--check"] if check else []
        command += ["--diff"] if diff else []
        command += ["-" + "v" * verbosity] if verbosity else []
        completed = subprocess.run(
            command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=300
        )
        return completed.returncode, completed.stdout, completed.stderr, None

    def through_module_host(tasks, environment, *, check, diff) -> tuple[int, str, str, list]:
        rc, stdout, stderr, results = 0, "", "", []
        for task in tasks:
            (name,) = (key for key in task if key not in MODULE_HOST_TASK_KEYWORDS)
            exit_, result = module_host.run_task(
                name, task[name] or {}, check=check, diff=diff, env=environment, work_dir=tmp_path
            )
            stdout, stderr = stdout + exit_.stdout, stderr + exit_.stderr
            results.append(result)
            if result.get("failed") and not task.get("ignore_errors"):
                rc = 2
                break
        return rc, stdout, stderr, results

    def run(
        tasks, *, check=False, diff=False, verbosity=0, env=None, expect_rc=0, playbook=False
    ) -> PlaybookRun:
        environment = environment_for(env)
        azure_double.clear_log()
        if playbook or _needs_the_controller(tasks, verbosity):
            rc, stdout, stderr, results = through_playbook(
                tasks, environment, check=check, diff=diff, verbosity=verbosity
            )
        else:
            rc, stdout, stderr, results = through_module_host(tasks, environment, check=check, diff=diff)
        run = PlaybookRun(rc, stdout, stderr, azure_double.write_count(), azure_double.request_log, results)
        if expect_rc is not None:
            assert rc == expect_rc, f"rc={rc}\n{run.output[-6000:]}"
        return run

    def setup(tasks) -> None:
        """The state `tasks` leave (asserted to pass) in the double's current state: run for real the
        first time in the session, restored from the same starting state after that (a test that
        needs the state, not the run, saves the run)."""
        key = json.dumps([without_volatile(azure_double.snapshot()), tasks], sort_keys=True, default=str)
        if key not in _SETUP_STATES:
            run(tasks)
            _SETUP_STATES[key] = azure_double.snapshot()
            return
        azure_double.load(_SETUP_STATES[key])

    run.setup = setup
    return run
