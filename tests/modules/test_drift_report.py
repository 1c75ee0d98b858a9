"""The drift report's filters: rows from a json-callback run, secrets masked, a table."""

from __future__ import annotations

import json

from ansible_collections.papr.memory.plugins.filter.drift_report import drift_mask, drift_rows, drift_table


def run_with(*results):
    tasks = [{"task": {"name": name}, "hosts": {"web-1": result}} for name, result in results]
    return json.dumps({"plays": [{"play": {"name": "p"}, "tasks": tasks}], "stats": {}})


def test_rows_per_changed_value_secrets_masked():
    run = run_with(
        ("unchanged", {"changed": False, "diff": {"before": {"a": 1}, "after": {"a": 2}}}),
        ("skipped", {"changed": True, "skipped": True}),
        (
            "web app",
            {
                "changed": True,
                "diff": {
                    "before": {"app_settings": {"LOG": "DEBUG", "DB_PASSWORD": "hunter2-secret"}},
                    "after": {"app_settings": {"LOG": "INFO", "DB_PASSWORD": "new-secret-value"}},
                },
            },
        ),
        (
            "env file",
            {
                "changed": True,
                "diff": [
                    {
                        "before": "DATABASE_URL=postgresql://u:old-pass@db/x\nA=1\n",
                        "after": "DATABASE_URL=postgresql://u:new-pass@db/x\nA=1\n",
                        "after_header": "/etc/papr-memory/web.env",
                    }
                ],
            },
        ),
        ("hidden", {"changed": True, "censored": "the output has been hidden"}),
        ("no diff", {"changed": True}),
    )
    rows = drift_rows(run)
    assert [(r["task"], r["what"]) for r in rows] == [
        ("web app", "app_settings.DB_PASSWORD"),
        ("web app", "app_settings.LOG"),
        ("env file", "/etc/papr-memory/web.env"),
        ("hidden", "(details hidden: no_log)"),
        ("no diff", "(would change; no diff)"),
    ]
    assert (rows[1]["before"], rows[1]["after"]) == ("DEBUG", "INFO")
    text = json.dumps(rows)
    for secret in ("hunter2-secret", "new-secret-value", "old-pass", "new-pass"):
        assert secret not in text
    assert "postgresql://u:********@db/x" in rows[2]["after"]

    table = drift_table(rows)
    assert table[0].split(" | ")[0].strip() == "host" and len(table) == 2 + len(rows)
    assert drift_table([]) == ["No drift: every resource matches the inventory."]


def test_mask_lines():
    assert drift_mask("API_KEY=abc\nplain=1\nurl postgresql://a:b@c/d") == (
        "API_KEY=********\nplain=1\nurl postgresql://a:********@c/d"
    )


def test_rows_from_output_with_lines_around_the_json_document():
    """In an execution environment other callbacks print around the json callback's document."""
    run = run_with(("web app", {"changed": True, "diff": {"before": {"a": 1}, "after": {"a": 2}}}))
    rows = drift_rows(f"[WARNING]: before\n{run}\n\nTASKS RECAP ****\n{{not json}}\n")
    assert [(r["task"], r["what"], r["before"], r["after"]) for r in rows] == [("web app", "a", "1", "2")]
