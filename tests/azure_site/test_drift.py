"""playbooks/drift.yml on option 1 against the Azure double: no drift right after site.yml; after a
change made in the portal, a table row per drifted value, secrets masked, a non-zero exit, no write."""

from __future__ import annotations

import re

import pytest

# Several playbook runs each: minutes on a busy shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

GROUP = "papr-memory-dev"
LEAKED = "portal-typed-password-1234"


def drift(site):
    return site.run("dev", playbook="playbooks/drift.yml")


def test_drift_report_lists_what_differs_with_secrets_masked(site, dev_deployed):
    double = dev_deployed

    clean = drift(site)
    assert clean.rc == 0, clean.output[-6000:]
    assert "No drift: every resource matches the inventory." in clean.output
    assert clean.writes == []

    settings_id = (
        f"/subscriptions/{double.subscription_id}/resourceGroups/{GROUP}/providers/Microsoft.Web/sites/"
        f"{GROUP}-web/config/appsettings"
    )

    def portal_edit(state):
        state["properties"]["PAPR_LOG_LEVEL"] = "DEBUG"
        state["properties"]["DATABASE_URL"] = f"postgresql://admin:{LEAKED}@elsewhere:5432/papr"

    double.drift(settings_id, portal_edit)
    drifted = drift(site)
    assert drifted.rc != 0
    assert drifted.writes == []
    # The callback folds long table lines: compare with the whitespace collapsed.
    shown = " ".join(drifted.output.split())
    assert re.search(r"\| app_settings\.PAPR_LOG_LEVEL \| DEBUG \| INFO", shown), shown[-3000:]
    assert re.search(r"\| app_settings\.DATABASE_URL \| \*+", shown), shown[-3000:]
    assert "value(s) differ from the inventory" in drifted.output
    assert LEAKED not in drifted.output
    for secret in site.secret_values:
        assert secret not in drifted.output
