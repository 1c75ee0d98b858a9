"""Fixtures: one Azure double and one stand-in service (local stack) for the whole folder, and a
second double that runs what is deployed (for the tests that verify the deployed apps)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.azure_double.deployed import LocalImage, LocalStackAddresses
from tests.azure_double.pytest_plugin import azure_double, azure_double_server  # noqa: F401
from tests.azure_double.server import AzureDouble
from tests.azure_site.site_runner import SiteRun, SiteRunner, running_stand_in, service_image

# This folder's share of the port range 59000-59499: the stand-in stack's six consecutive ports.
STACK_PORT_BASES = range(59010, 59490, 10)
SERVICE_IMAGE = "paprmemory.azurecr.io/memory"  # the inventories' image: every tag is this tree


@pytest.fixture(scope="session")
def stand_in_service():
    with running_stand_in("papr-azure-site-", STACK_PORT_BASES) as service:
        yield service


@pytest.fixture(scope="session")
def site(azure_double_server, stand_in_service, tmp_path_factory):  # noqa: F811
    return SiteRunner(azure_double_server, stand_in_service, tmp_path_factory.mktemp("azure-site"))


@dataclass(frozen=True)
class Deployment:
    runs: dict[str, SiteRun]  # the site runs from an empty subscription, by name, in order
    state: dict  # the double's resources right after them

    @property
    def run(self) -> SiteRun:
        """The (last) real run."""
        return list(self.runs.values())[-1]

    def restore(self, double: AzureDouble) -> AzureDouble:
        """`double` (reset) holding what the runs deployed, as if they had just run (the stand-in
        service is the session's, so its side of the deployment is there already)."""
        double.load(self.state)
        return double


def deploy_from_empty(
    site: SiteRunner,
    double: AzureDouble,
    inventory: str,
    before: dict[str, Callable[[AzureDouble], None]] | None = None,
    **runs: tuple[str, ...],
) -> Deployment:
    """site.yml runs (name -> arguments) from an empty subscription, each asserted to pass, and the
    state they leave; `before` (name -> callable) prepares the double for that run (faults); the
    double is reset afterwards."""
    double.reset()
    double.operations.default_polls = 1
    done = {}
    for name, args in runs.items():
        (before or {}).get(name, lambda double: None)(double)
        done[name] = site.run(inventory, *args)
        assert done[name].rc == 0, done[name].output[-6000:]
    state = double.snapshot()
    double.reset()
    return Deployment(done, state)


@pytest.fixture(scope="session")
def dev_deployment(site, azure_double_server):  # noqa: F811
    """site.yml -i inventories/dev --diff from an empty subscription, run once per session (per
    xdist worker): test_site_dev reads the run, and the day-2 playbook tests start from the state it
    left instead of each paying a full site run of its own (about a minute of two cores)."""
    return deploy_from_empty(site, azure_double_server, "dev", first=("--diff",))


@pytest.fixture
def dev_deployed(dev_deployment, azure_double):  # noqa: F811
    """`azure_double` holding what site.yml -i inventories/dev deploys, as if it had just run."""
    return dev_deployment.restore(azure_double)


def throttle_and_fail_transiently(double: AzureDouble) -> None:
    """ARM throttling (429 + Retry-After) and transient errors (503) on a few requests of each kind a
    first deployment sends: group and plan creation, a server read, a container group write (the
    app settings' list, which only a rerun sends, is throttled in test_site_prod's rerun)."""
    double.inject_status(r"/resourcegroups/papr-memory-prod$", status=429, method="PUT", times=2)
    double.inject_status(r"/serverfarms/", status=429, method="PUT", times=2)
    double.inject_status(r"/flexibleServers/", status=503, method="GET", times=3)
    double.inject_status(r"/containerGroups/", status=503, method="PUT", times=1)


@pytest.fixture(scope="session")
def prod_deployment(site, azure_double_server):  # noqa: F811
    """site.yml -i inventories/prod from an empty subscription, once per session (per xdist worker):
    check mode first, then the real run (both --diff -vvv, whose output test_site_prod reads) through
    throttling and transient errors (test_site_failures reads its requests; the first deployment of a
    subscription is where real ARM throttles most); test_site_prod and test_release start from the
    state it left, and test_site_prod's no-op rerun is the rerun of this throttled run."""
    return deploy_from_empty(
        site,
        azure_double_server,
        "prod",
        before={"first": throttle_and_fail_transiently},
        check=("--check", "--diff", "-vvv"),
        first=("--diff", "-vvv"),
    )


@pytest.fixture(scope="module")
def deployed_site(tmp_path_factory):
    """site.yml against a double that runs the deployed web app and workers (with their app
    settings and startup commands) on the local stack's PostgreSQL and Temporal; the checks reach
    the web app at its host name through the double."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("psql"):
        pytest.skip("running deployed apps needs root, unshare (a network namespace per app) and psql")
    work = tmp_path_factory.mktemp("azure-deployed")
    with running_stand_in("papr-azure-deployed-", STACK_PORT_BASES, backends_only=True) as backends:
        stack = backends.stack
        addresses = LocalStackAddresses(
            postgres_port=stack.ports.postgres,
            temporal_port=stack.ports.temporal,
            postgres_admin=lambda: psycopg.connect(stack.admin_conninfo, autocommit=True),
        )
        with AzureDouble(state_dir=work / "double") as double:
            double.operations.default_polls = 1
            # The Temporal group's database-roles init container runs psql: this machine's.
            psql = LocalImage(work, Path(shutil.which("psql")).parent)
            apps = double.run_deployed(
                {SERVICE_IMAGE: service_image(work / "app")},
                addresses,
                work / "logs",
                init_containers={"database-roles": psql},
            )
            yield SiteRunner(double, backends, work, proxy_url=apps.proxy_url)
