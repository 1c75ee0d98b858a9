"""The cloud metadata and token cache: one metadata fetch and one token per run, private files, and a
quiet fallback wherever the cache cannot be used safely."""

from __future__ import annotations

import os
import stat
import time

from ansible_collections.papr.memory.plugins.module_utils.azure_cache import (
    CachedTokenCredential,
    DiskCache,
    cache_key,
)

from tests.azure_modules.conftest import make_resource_group

GROUP = "cache-test"


def four_tasks():
    return [
        {"papr.memory.resource_group": {"name": GROUP, "location": "westeurope"}},
        {"papr.memory.app_service_plan": {"name": "cache-plan", "resource_group": GROUP, "sku": "B1"}},
        {"papr.memory.resource_group": {"name": GROUP}},
        {"papr.memory.app_service_plan": {"name": "cache-plan", "resource_group": GROUP}},
    ]


def counts(run):
    paths = [entry[1] for entry in run.requests]
    return (
        sum(p.endswith("/oauth2/v2.0/token") for p in paths),
        sum(p.startswith("/metadata/endpoints") for p in paths),
        sum(".well-known/openid-configuration" in p for p in paths),
    )


def test_a_run_fetches_metadata_and_token_once_and_the_next_run_not_at_all(run_tasks, azure_double, tmp_path):
    first = run_tasks(four_tasks())
    assert counts(first) == (1, 1, 1)
    second = run_tasks(four_tasks())
    assert counts(second) == (0, 0, 0)
    assert [r["changed"] for r in second.results()] == [False] * 4

    directory = tmp_path / "azure-cache"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(directory.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    for item in files:
        assert azure_double.client_secret not in item.name + item.read_text()
        assert azure_double.client_id not in item.name and azure_double.tenant_id not in item.name


def test_another_secret_never_uses_a_cached_token(run_tasks, azure_double):
    make_resource_group(azure_double, GROUP)
    run_tasks([four_tasks()[2]])
    wrong = run_tasks([four_tasks()[2]], env={"AZURE_SECRET": "not-the-secret-4e1d"}, expect_rc=2)
    assert "Invalid client secret" in wrong.result()["msg"]
    assert counts(wrong)[0] == 1


def test_an_unusable_cache_directory_falls_back_quietly(run_tasks, azure_double, tmp_path):
    make_resource_group(azure_double, GROUP)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)  # others can read it: not private, never used
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    for directory in (shared, not_a_directory / "cache"):
        run = run_tasks([four_tasks()[2], four_tasks()[2]], env={"PAPR_AZURE_CACHE_DIR": str(directory)})
        assert counts(run)[0] == 2  # a token per task, as without a cache
        assert "WARNING" not in run.output
    assert list(shared.iterdir()) == []


def test_cache_entries_expire_and_damaged_files_are_ignored(tmp_path):
    cache = DiskCache(str(tmp_path / "c"))
    assert cache.enabled
    cache.put("cloud", "k", {"a": 1}, expires=time.time() + 60)
    assert cache.get("cloud", "k") == {"a": 1}
    assert cache.get("cloud", "k", now=time.time() + 61) is None
    (tmp_path / "c" / "cloud-k.json").write_text("{not json")
    assert cache.get("cloud", "k") is None
    os.chmod(tmp_path / "c" / "cloud-k.json", 0o644)
    cache.put("cloud", "k", {"a": 2}, expires=time.time() + 60)  # replaced atomically, 0600 again
    assert stat.S_IMODE((tmp_path / "c" / "cloud-k.json").stat().st_mode) == 0o600
    assert cache.get("cloud", "k") == {"a": 2}


def test_a_token_close_to_expiry_is_fetched_again(tmp_path, monkeypatch):
    from azure.core.credentials import AccessToken

    issued = []

    class Credential:
        def get_token(self, *scopes, **kwargs):
            issued.append(scopes)
            return AccessToken(f"token-{len(issued)}", int(time.time()) + lifetimes[len(issued) - 1])

    lifetimes = [200, 3600]  # the first expires within the margin
    cache = DiskCache(str(tmp_path / "c"))
    key = cache_key("test", "secret")
    assert CachedTokenCredential(Credential, cache, key).get_token("s/.default").token == "token-1"
    assert CachedTokenCredential(Credential, cache, key).get_token("s/.default").token == "token-2"
    assert CachedTokenCredential(Credential, cache, key).get_token("s/.default").token == "token-2"
    assert len(issued) == 2
    monkeypatch.setenv("PAPR_AZURE_CACHE", "off")
    assert not DiskCache(str(tmp_path / "c")).enabled
