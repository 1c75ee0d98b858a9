#!/usr/bin/python
# Copyright: PAPR Memory engineers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: temporal_check
short_description: Wait until Temporal serves a namespace and every task queue has a live worker
version_added: "0.1.0"
description:
  - Checks, until all hold or O(timeout) passes, that the Temporal frontend at O(address) is
    serving, that O(namespace) is registered, and that each of O(task_queues) has a live poller.
  - A poller is live when it polled within O(poller_max_age) seconds. Temporal keeps a worker in
    the poller list for minutes after it died, so being listed proves nothing; the time of the
    last poll does.
  - An idle worker starts a new long poll about every 60 seconds (the server's long-poll
    interval), so O(poller_max_age) must be larger than that. A live worker seen as stale just
    before its next poll is confirmed by the next attempt, as long as O(timeout) leaves room.
  - Returns the pollers and the backlog of each task queue.
  - Between attempts the module sleeps O(delay) seconds, doubling up to O(max_delay).
  - The module never changes anything and runs in check mode too.
author:
  - PAPR Memory engineers (@papr-memory)
requirements:
  - temporalio (the Temporal Python SDK) on the Python that runs the module. Run the module with
    an C(ansible_python_interpreter) that has it, for example the service's virtualenv.
options:
  address:
    description: The Temporal frontend, C(host:port).
    type: str
    default: 127.0.0.1:7233
  namespace:
    description: The namespace that must be registered; task queues are looked up in it.
    type: str
    default: default
  task_queues:
    description: Task queues that must each have a live poller.
    type: list
    elements: str
    default: []
  task_queue_types:
    description:
      - Which kinds of pollers count. A queue is live when a poller of any listed type is live.
      - Use V([activity]) for a worker that runs activities only.
    type: list
    elements: str
    choices: [workflow, activity]
    default: [workflow, activity]
  identity_pattern:
    description:
      - A regular expression (searched) a poller's worker identity must match to count. The service's
        workers call themselves C(<component>@<hostname>:<pid>), so V(@(worker-1|worker-2\\b)) counts only
        the workers of those hosts - how a migration waits for new workers before it stops the old ones.
      - Not given - every poller counts.
    type: str
  poller_max_age:
    description: Seconds since its last poll after which a poller no longer counts as live.
    type: float
    default: 90
  timeout:
    description: Seconds to keep trying before giving up. V(0) checks once.
    type: float
    default: 120
  rpc_timeout:
    description:
      - Seconds one connection attempt or call may take. Near the deadline a call gets only the time
        that is left (at least half a second), so the module ends within about O(timeout) plus half a
        second.
    type: float
    default: 10
  tls:
    description: Connect with TLS. Implied by O(ca_path).
    type: bool
    default: false
  ca_path:
    description: PEM file of the CA that signed the frontend's certificate.
    type: path
  tls_server_name:
    description: Name to verify the frontend's certificate against, when not the host in O(address).
    type: str
  api_key:
    description: API key sent as a bearer token (Temporal Cloud and servers configured for it).
    type: str
extends_documentation_fragment:
  - papr.memory.polling
notes:
  - Poller ages are computed with the clock of the host running the module against the server's
    timestamps; keep clocks in sync (NTP).
seealso:
  - module: papr.memory.health_check
"""

EXAMPLES = r"""
- name: Wait for Temporal and both workers
  papr.memory.temporal_check:
    address: 127.0.0.1:7233
    namespace: default
    task_queues:
      - papr-memory
      - papr-documents
    timeout: 180
  vars:
    # A Python that has temporalio, e.g. the service's virtualenv on the host.
    ansible_python_interpreter: /opt/papr-memory/venv/bin/python

- name: Only check that the frontend serves and the namespace exists
  papr.memory.temporal_check:
    address: temporal.internal:7233
    namespace: papr
"""

RETURN = r"""
serving:
  description: Whether the frontend answered its health check with SERVING.
  returned: always
  type: bool
  sample: true
namespace:
  description: The namespace as described by the server (empty when not found).
  returned: always
  type: dict
  sample: {"name": "default", "state": "REGISTERED", "id": "7b4f..."}
task_queues:
  description: Per task queue, whether it is live, its pollers and its backlog.
  returned: always
  type: dict
  sample:
    papr-memory:
      live: true
      backlog: 0
      pollers:
        - identity: "4242@web-1"
          type: workflow
          last_access_time: "2026-11-29T12:00:00+00:00"
          age_s: 3.1
attempts:
  description: How many times the checks ran.
  returned: always
  type: int
  sample: 1
elapsed:
  description: Seconds spent.
  returned: always
  type: float
  sample: 0.4
"""

import asyncio
import re
import traceback
from datetime import UTC, datetime, timedelta

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.papr.memory.plugins.module_utils.polling import (
    BACKOFF_ARGUMENT_SPEC,
    Deadline,
    async_wait_until,
)

try:
    from temporalio.api.enums.v1 import NamespaceState, TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, DescribeTaskQueueRequest
    from temporalio.client import Client
    from temporalio.service import RPCError, RPCStatusCode, TLSConfig
except ImportError:
    TEMPORALIO_IMPORT_ERROR = traceback.format_exc()
else:
    TEMPORALIO_IMPORT_ERROR = None

ARGUMENT_SPEC = dict(
    address=dict(type="str", default="127.0.0.1:7233"),
    namespace=dict(type="str", default="default"),
    task_queues=dict(type="list", elements="str", default=[]),
    task_queue_types=dict(
        type="list", elements="str", choices=["workflow", "activity"], default=["workflow", "activity"]
    ),
    identity_pattern=dict(type="str"),
    poller_max_age=dict(type="float", default=90),
    timeout=dict(type="float", default=120),
    **BACKOFF_ARGUMENT_SPEC,
    rpc_timeout=dict(type="float", default=10),
    tls=dict(type="bool", default=False),
    ca_path=dict(type="path"),
    tls_server_name=dict(type="str"),
    api_key=dict(type="str", no_log=True),
)

# Failures no retry can fix: the server refuses who we are.
FATAL_RPC_STATUSES = ("PERMISSION_DENIED", "UNAUTHENTICATED")


class TemporalProbe:
    """The state of one module run: the connection, and what the last attempt found."""

    def __init__(self, params, deadline):
        self.params = params
        self.deadline = deadline
        self.client = None
        self.serving = False
        self.namespace = {}
        self.queues = {name: dict(live=False, pollers=[], backlog=None) for name in params["task_queues"]}
        self.problems = ["not checked"]
        self.fatal = None

    @property
    def rpc_timeout(self):
        """rpc_timeout, cut to what is left of the deadline: no call runs past `timeout`."""
        return timedelta(seconds=self.deadline.bound(self.params["rpc_timeout"]))

    async def attempt(self):
        """One round of checks; True when everything holds (or when retrying is pointless)."""
        try:
            self.problems = await self._check()
        except RPCError as err:
            self.problems = [
                f"Temporal at {self.params['address']} answered {err.status.name}: {err.message}"
            ]
            if err.status.name in FATAL_RPC_STATUSES:
                self.fatal = self.problems[0]
        except (TimeoutError, RuntimeError, OSError) as err:
            # temporalio reports connection failures as RuntimeError; reconnect next time.
            self.client = None
            self.serving = False
            self.problems = [f"cannot reach Temporal at {self.params['address']}: {_one_line(err)}"]
        return not self.problems or self.fatal is not None

    async def _check(self):
        if self.client is None:
            self.client = await asyncio.wait_for(self._connect(), self.rpc_timeout.total_seconds())
        self.serving = await self.client.service_client.check_health(timeout=self.rpc_timeout)
        if not self.serving:
            return [f"the Temporal frontend at {self.params['address']} is not SERVING"]
        if not await self._namespace_registered():
            return [f"namespace {self.params['namespace']!r} is not registered on {self.params['address']}"]
        problems = []
        for name in self.queues:
            if not self.queues[name]["live"]:
                self.queues[name] = await self._describe_queue(name)
                if not self.queues[name]["live"]:
                    problems.append(self._queue_problem(name))
        return problems

    async def _connect(self):
        params = self.params
        tls = params["tls"] or bool(params["ca_path"])
        if tls and (params["ca_path"] or params["tls_server_name"]):
            ca = None
            if params["ca_path"]:
                with open(params["ca_path"], "rb") as handle:
                    ca = handle.read()
            tls = TLSConfig(server_root_ca_cert=ca, domain=params["tls_server_name"])
        return await Client.connect(
            params["address"],
            namespace=params["namespace"],
            api_key=params["api_key"],
            tls=tls,
            connect_timeout=self.rpc_timeout,
        )

    async def _namespace_registered(self):
        request = DescribeNamespaceRequest(namespace=self.params["namespace"])
        try:
            response = await self.client.workflow_service.describe_namespace(
                request, timeout=self.rpc_timeout
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                self.namespace = {}
                return False
            raise
        info = response.namespace_info
        self.namespace = dict(name=info.name, id=info.id, state=_enum_suffix(NamespaceState.Name(info.state)))
        return True

    async def _describe_queue(self, name):
        now = datetime.now(UTC)
        max_age = self.params["poller_max_age"]
        pollers, backlog = [], 0
        for kind in self.params["task_queue_types"]:
            request = DescribeTaskQueueRequest(
                namespace=self.params["namespace"],
                task_queue=TaskQueue(name=name),
                task_queue_type=TaskQueueType.Value(f"TASK_QUEUE_TYPE_{kind.upper()}"),
                report_stats=True,
            )
            response = await self.client.workflow_service.describe_task_queue(
                request, timeout=self.rpc_timeout
            )
            backlog += response.stats.approximate_backlog_count
            for poller in response.pollers:
                seen = poller.last_access_time.ToDatetime(tzinfo=UTC)
                age = round((now - seen).total_seconds(), 1)
                pollers.append(
                    dict(identity=poller.identity, type=kind, last_access_time=seen.isoformat(), age_s=age)
                )
        pattern = self.params["identity_pattern"]
        live = any(
            p["age_s"] <= max_age and (not pattern or re.search(pattern, p["identity"])) for p in pollers
        )
        return dict(live=live, pollers=pollers, backlog=backlog)

    def _queue_problem(self, name):
        pollers = self.queues[name]["pollers"]
        kinds = "/".join(self.params["task_queue_types"])
        if not pollers:
            return f"task queue {name!r} has no {kinds} poller"
        pattern = self.params["identity_pattern"]
        if pattern and not any(re.search(pattern, p["identity"]) for p in pollers):
            identities = ", ".join(sorted({p["identity"] for p in pollers}))
            return (
                f"task queue {name!r} has no poller whose identity matches {pattern!r} "
                f"(pollers: {identities})"
            )
        if pattern:
            pollers = [p for p in pollers if re.search(pattern, p["identity"])]
        freshest = min(pollers, key=lambda p: p["age_s"])
        return (
            f"task queue {name!r} has no live {kinds} poller: the most recent, {freshest['identity']!r}, "
            f"polled {freshest['age_s']}s ago (poller_max_age {self.params['poller_max_age']}s)"
        )

    def result(self):
        return dict(serving=self.serving, namespace=self.namespace, task_queues=self.queues)


def _enum_suffix(name):
    return name.rsplit("_STATE_", 1)[-1]  # NAMESPACE_STATE_REGISTERED -> REGISTERED


def _one_line(err):
    return " ".join(str(err).split()) or type(err).__name__


def validate_input(module):
    params = module.params
    errors = [
        f"{o} must be >= 0" for o in ("timeout", "delay", "max_delay", "poller_max_age") if params[o] < 0
    ]
    if params["rpc_timeout"] <= 0:
        errors.append("rpc_timeout must be > 0")
    if not params["namespace"]:
        errors.append("namespace is empty")
    if ":" not in params["address"]:
        errors.append(f"address {params['address']!r} is not host:port")
    if params["identity_pattern"]:
        try:
            re.compile(params["identity_pattern"])
        except re.error as err:
            errors.append(
                f"identity_pattern {params['identity_pattern']!r} is not a regular expression: {err}"
            )
    if not params["task_queue_types"]:
        errors.append("task_queue_types is empty")
    if len(set(params["task_queues"])) != len(params["task_queues"]) or "" in params["task_queues"]:
        errors.append("task_queues has an empty or repeated name")
    if errors:
        module.fail_json(msg="invalid input: " + "; ".join(errors), changed=False)


async def run(params):
    deadline = Deadline(params["timeout"])
    probe = TemporalProbe(params, deadline)
    waited = await async_wait_until(
        probe.attempt, deadline, delay=params["delay"], max_delay=params["max_delay"]
    )
    probe.client = None  # drop the connection before the event loop closes
    return probe, waited


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if TEMPORALIO_IMPORT_ERROR:
        module.fail_json(
            msg=missing_required_lib(
                "temporalio",
                reason="to talk to Temporal; point ansible_python_interpreter at a Python that has it",
            ),
            exception=TEMPORALIO_IMPORT_ERROR,
        )
    validate_input(module)
    # asyncio.run closes the loop and its transports before exit: temporalio's native threads can
    # crash the interpreter at exit when a loop is left open (temporalio sdk-python issue 300).
    probe, waited = asyncio.run(run(module.params))
    result = dict(changed=False, attempts=waited.attempts, elapsed=round(waited.elapsed, 2), **probe.result())
    if probe.problems:
        given_up = "" if probe.fatal else f" within {module.params['timeout']}s"
        module.fail_json(
            msg=f"Temporal check failed{given_up} after {waited.attempts} attempt(s): "
            + "; ".join(probe.problems),
            **result,
        )
    module.exit_json(msg=f"Temporal at {module.params['address']} is healthy", **result)


if __name__ == "__main__":
    main()
