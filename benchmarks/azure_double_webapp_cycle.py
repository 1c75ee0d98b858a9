"""Time a full web app create + read cycle through the real Azure SDK against the Azure double.

    .venv/bin/python benchmarks/azure_double_webapp_cycle.py [--cycles 20]

One cycle: resource group PUT, Linux plan PUT, site PUT (container image + app settings), app settings
PUT, then GET site, GET config/web, POST appsettings/list, GET plan. Prints the double's start-up time,
the first (cold: token, TLS handshake) cycle and the median/mean/max of the warm cycles, in ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from azure.mgmt.resource.resources import ResourceManagementClient  # noqa: E402
from azure.mgmt.web import WebSiteManagementClient  # noqa: E402
from azure.mgmt.web.models import (  # noqa: E402
    AppServicePlan,
    NameValuePair,
    Site,
    SiteConfig,
    SkuDescription,
    StringDictionary,
)

from tests.azure_double import AzureDouble  # noqa: E402


def cycle(resources: ResourceManagementClient, web: WebSiteManagementClient, index: int) -> int:
    """Create and read one web app; returns the number of HTTP requests it took."""
    group, site_name = f"bench-rg-{index}", f"bench-app-{index}"
    resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    plan = web.app_service_plans.begin_create_or_update(
        group,
        "plan",
        AppServicePlan(location="westeurope", sku=SkuDescription(name="P1v3", capacity=1), reserved=True),
    ).result()
    config = SiteConfig(
        linux_fx_version="DOCKER|ghcr.io/papr/memory:1", app_settings=[NameValuePair(name="A", value="1")]
    )
    web.web_apps.begin_create_or_update(
        group,
        site_name,
        Site(location="westeurope", server_farm_id=plan.id, https_only=True, site_config=config),
    ).result()
    web.web_apps.update_application_settings(
        group, site_name, StringDictionary(properties={"WEBSITES_PORT": "8000"})
    )
    site = web.web_apps.get(group, site_name)
    assert web.web_apps.get_configuration(group, site_name).linux_fx_version == "DOCKER|ghcr.io/papr/memory:1"
    assert web.web_apps.list_application_settings(group, site_name).properties == {"WEBSITES_PORT": "8000"}
    assert web.app_service_plans.get(group, "plan").number_of_sites == 1 and site.state == "Running"
    return 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20)
    args = parser.parse_args()

    started = time.perf_counter()
    double = AzureDouble().start()
    startup_ms = (time.perf_counter() - started) * 1000
    try:
        resources, web = double.client(ResourceManagementClient), double.client(WebSiteManagementClient)
        timings = []
        for index in range(args.cycles + 1):
            begin = time.perf_counter()
            requests_per_cycle = cycle(resources, web, index)
            timings.append((time.perf_counter() - begin) * 1000)
        warm = timings[1:]
        print(f"double start-up (CA + certificate + server): {startup_ms:.0f} ms")
        print(f"first cycle (token, TLS handshake, {requests_per_cycle} ARM requests): {timings[0]:.1f} ms")
        print(
            f"warm cycles x{len(warm)}: median {statistics.median(warm):.1f} ms, "
            f"mean {statistics.mean(warm):.1f} ms, "
            f"max {max(warm):.1f} ms ({requests_per_cycle} ARM requests each)"
        )
    finally:
        double.stop()


if __name__ == "__main__":
    main()
