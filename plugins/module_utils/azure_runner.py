# Copyright: PAPR Memory engineers
# Apache-2.0
"""The one lifecycle every papr.memory Azure module runs: read -> desired -> compare -> write -> summarise.

A module is its DOCUMENTATION/EXAMPLES/RETURN, its argument spec and a ``Resource`` subclass with
its resource's specifics; ``run_module(MyResource, argument_spec)`` does the rest. The contract:

- ``validate()``: every check that needs no Azure call (names, ranges, references). Raise
  AzureModuleError; nothing has been sent yet.
- ``secrets()``: values to keep out of results, diffs and logs (Ansible scrubs them like no_log).
- ``read()``: the current state through a service (module_utils/azure_service.py and the
  per-type services), or None when the resource does not exist. Reads only.
- ``lifecycle(current)``: a Lifecycle (running, stopped, transitioning, failed) for resources
  that have one; the runner waits for a transitioning one (bounded by ``timeout``), starts a
  stopped one when ``start_stopped`` (sending ``start_write``), and refuses a failed one unless
  the resource sets ``repairs_failed`` (its plan then sends it again).
- ``read_related(current)``: the other reads the desired state needs (location of the resource
  group, the plan, sub-resources). Reads only.
- ``plan(current, related)``: PURE (no Azure I/O). The desired state compared with the current
  one, as a Plan: the Writes to send, in order (each Write's ``send`` is a service call), and
  the masked diff.
- ``summarise(current, related, plan, answers)``: the dict returned under ``result_key``;
  ``answers`` maps each sent Write's ``key`` to what Azure answered. It may add result fields
  that depend on the answers to ``plan.result``.

The runner returns ``changed``, ``operations`` (the writes sent; in check mode the writes that
would be sent; names and changed fields only, never values), the summary and ``diff`` in diff
mode. A task that sent a write and then failed reports ``changed: true`` with the operations sent
and, for a resource with a lifecycle, the state Azure reported at the start and whether it was started.
"""

from __future__ import annotations

from ansible_collections.papr.memory.plugins.module_utils import polling
from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError
from ansible_collections.papr.memory.plugins.module_utils.azure_module import AzureModule

# The option of every module whose resource can be stopped (documented in doc fragment azure.lifecycle).
LIFECYCLE_ARGUMENT_SPEC = dict(start_stopped=dict(type="bool", default=True))

RUNNING, STOPPED, TRANSITIONING, FAILED = "running", "stopped", "transitioning", "failed"
# Longest pause between two reads of a resource in transition.
SETTLE_MAX_DELAY_SECONDS = 30.0


class Lifecycle:
    """Where a resource is in its life: `phase` is one of the four above, `state` Azure's own word."""

    def __init__(self, phase, state):
        self.phase = phase
        self.state = state


def provisioning_lifecycle(provisioning_state, transitional_states):
    """FAILED or TRANSITIONING while ARM's provisioningState says so; None once it has settled
    (the resource's own power or instance state decides then)."""
    state = (provisioning_state or "").lower()
    if state == "failed":
        return Lifecycle(FAILED, provisioning_state)
    if state in transitional_states:
        return Lifecycle(TRANSITIONING, provisioning_state)
    return None


class Write:
    """One write request (or long-running operation) the plan sends.

    `changes` names what differs (field or sub-resource names, never values); `key` lets
    summarise() find Azure's answer to it.
    """

    def __init__(self, action, target, send, changes=(), key=None, settles=False):
        self.action = action
        self.target = target
        self.send = send
        self.changes = sorted(changes)
        self.key = key or action
        # Azure may answer before the resource has settled (its answer is the resource, still in a
        # transitional provisioningState): the runner then waits and fails if it ends failed.
        self.settles = settles

    def operation(self):
        entry = {"action": self.action, "target": self.target}
        if self.changes:
            entry["changes"] = self.changes
        return entry


class Plan:
    """The writes that bring the resource to its desired state and the diff.

    `desired` is the desired state for summarise(); `result` holds extra fields of the module result.
    """

    def __init__(self, writes=(), before=None, after=None, desired=None, result=None):
        self.writes = list(writes)
        self.before = before if before is not None else {}
        self.after = after if after is not None else {}
        self.desired = desired
        self.result = result or {}


class Resource:
    """The specifics of one resource type; see the module docstring for the contract."""

    kind = "resource"  # how messages name it: "App Service plan"
    result_key = "resource"  # the key of the summary in the result (None: its fields at the top level)
    repairs_failed = False  # a failed resource is sent again by plan() instead of refused

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode

    @property
    def description(self):
        """How messages name this resource: "App Service plan 'p' in resource group 'rg'"."""
        group = self.params.get("resource_group")
        text = f"{self.kind} '{self.params['name']}'"
        return f"{text} in resource group '{group}'" if group else text

    def validate(self):
        pass

    def secrets(self):
        return ()

    def read(self):
        raise NotImplementedError

    def lifecycle(self, current):
        return None

    def start_write(self, current):
        raise NotImplementedError(f"{self.kind} cannot be started")

    def read_related(self, current):
        return None

    def plan(self, current, related):
        raise NotImplementedError

    def summarise(self, current, related, plan, answers):
        return {}


class Runner:
    """Drives one Resource through the lifecycle and turns the outcome into the module result."""

    def __init__(self, module, resource):
        self.module = module
        self.resource = resource
        self.operations = []
        self.answers = {}
        self.written = False
        self.started = False
        self.state_before = None

    # --- the lifecycle -------------------------------------------------------------------------------
    def run(self):
        resource = self.resource
        self.module.hide(*resource.secrets())
        resource.validate()
        current = resource.read()
        if current is not None and self.module.params.get("state", "present") == "present":
            current = self.settle(current)
        related = resource.read_related(current)
        plan = resource.plan(current, related)
        for write in plan.writes:
            self.send(write)
        summary = resource.summarise(current, related, plan, self.answers)  # may fill plan.result
        result = {"changed": bool(self.operations), "operations": self.operations}
        if resource.result_key:
            result[resource.result_key] = summary
        else:  # a module whose result fields stand at the top level (app_service_slot_swap)
            result.update(summary)
        result.update(plan.result)
        result.update(self.lifecycle_fields())
        if self.module.diff_mode:
            result["diff"] = {"before": plan.before, "after": plan.after}
        return result

    def lifecycle_fields(self):
        """resource_state and started, for a module whose resource has a lifecycle (state=present)."""
        if "start_stopped" in self.module.params and self.module.params.get("state") != "absent":
            return dict(resource_state=self.state_before, started=self.started)
        return {}

    def failure_fields(self, changed):
        """What a failed task still reports: whether anything changed, the writes sent, the state known."""
        return dict(changed=changed, operations=self.operations, **self.lifecycle_fields())

    def settle(self, current):
        """Wait out a transition, refuse a failure, start a stopped resource; the current state after.

        Azure's state at the start is kept in `state_before` (reported even when the task fails).
        """
        resource = self.resource
        lifecycle = resource.lifecycle(current)
        if lifecycle is None:
            return current
        self.state_before = lifecycle.state
        if lifecycle.phase == TRANSITIONING:
            current, lifecycle = self.wait_for_transition(current, lifecycle)
            if lifecycle is None:  # settled with nothing more to say, or it was being deleted (None)
                return current
        if lifecycle.phase == FAILED and not resource.repairs_failed:
            raise AzureModuleError(
                f"{resource.description} is in state {lifecycle.state}: Azure reports it failed, so "
                "nothing was changed. Look at it in the portal (activity log, resource health), repair "
                "or delete it, then run again."
            )
        if lifecycle.phase == STOPPED:
            if self.module.params.get("start_stopped"):
                self.send(resource.start_write(current))
                self.started = True
                if not self.module.check_mode:
                    current = resource.read()  # what it is now, for the comparison and the summary
            else:
                self.module.warn(
                    f"{resource.description} is {lifecycle.state} and start_stopped is false: "
                    "it stays stopped."
                )
        return current

    def wait_for_transition(self, current, lifecycle, sent=None):
        """Re-read a resource Azure is still creating/updating until it settles or `timeout` passes.

        `sent` is the action of the write this task sent and waits for (None: waiting before any write)."""
        resource, deadline = self.resource, self.module.deadline
        interval = self.module.params.get("polling_interval") or 0
        seen = {"current": current, "lifecycle": lifecycle}

        def settled():
            seen["current"] = resource.read()
            seen["lifecycle"] = resource.lifecycle(seen["current"]) if seen["current"] is not None else None
            return seen["lifecycle"] is None or seen["lifecycle"].phase != TRANSITIONING

        waited = polling.wait_until(
            settled,
            deadline,
            delay=max(interval, 0.1),
            max_delay=max(interval, SETTLE_MAX_DELAY_SECONDS),
        )
        if not waited.ok:
            why = (
                f"(the {sent} was sent and Azure is still working on it)"
                if sent
                else f"(it was {lifecycle.state} when the task started; an earlier create or update may "
                "have been interrupted). Nothing was changed"
            )
            raise AzureModuleError(
                f"{resource.description} is still {seen['lifecycle'].state} after {deadline.timeout:g}s "
                f"{why}: wait for Azure to finish (portal, `az`), then run again, or raise `timeout`."
            )
        return seen["current"], seen["lifecycle"]

    def send(self, write):
        """Send one write (none in check mode) and record it as an operation."""
        operation = write.operation()
        if self.module.check_mode:
            self.operations.append(operation)
            return
        try:
            self.answers[write.key] = write.send()
        except AzureModuleError as exc:
            accepted = getattr(exc, "accepted", False)
            self.operations.append({**operation, "failed": True})
            raise WriteFailed(str(exc), changed=self.written or accepted) from exc
        self.written = True
        self.operations.append(operation)
        if write.settles:
            self.answers[write.key] = self.settle_written(write, self.answers[write.key])

    def settle_written(self, write, answer):
        """The resource once settled after `write` was accepted; a failed one fails the task (changed)."""
        lifecycle = self.resource.lifecycle(answer) if answer else None
        if lifecycle is not None and lifecycle.phase == TRANSITIONING:
            answer, lifecycle = self.wait_for_transition(answer, lifecycle, sent=write.action)
        if lifecycle is not None and lifecycle.phase == FAILED:
            self.operations[-1]["failed"] = True
            raise WriteFailed(
                f"{self.resource.description}: Azure accepted the {write.action} and then reported state "
                f"{lifecycle.state}. Look at it in the portal (activity log), then "
                + (
                    "run again: the module sends it again."
                    if self.resource.repairs_failed
                    else "repair or delete it and run again."
                ),
                changed=True,
            )
        return answer


class WriteFailed(AzureModuleError):
    """A write failed; `changed` says whether Azure already accepted this or an earlier write."""

    def __init__(self, message, changed):
        super().__init__(message)
        self.changed = changed


def run_module(resource_class, argument_spec, lifecycle=False, **ansible_module_kwargs):
    """The whole module: parse options, run the Resource through the lifecycle, exit or fail."""
    spec = dict(argument_spec)
    if lifecycle:
        spec.update(LIFECYCLE_ARGUMENT_SPEC)
    module = AzureModule(argument_spec=spec, **ansible_module_kwargs)
    runner = Runner(module, resource_class(module))
    try:
        result = runner.run()
    except WriteFailed as exc:
        module.fail(str(exc), **runner.failure_fields(exc.changed))
    except AzureModuleError as exc:
        module.fail(str(exc), **runner.failure_fields(runner.written))
    module.ansible.exit_json(**result)
