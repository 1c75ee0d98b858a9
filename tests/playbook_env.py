"""The environment of an ansible-playbook run whose results a test reads from the json callback."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def json_callback_env(base: dict[str, str]) -> dict[str, str]:
    """`base` plus the repository's ansible.cfg, the json stdout callback and no colour or localhost noise."""
    return dict(
        base,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json",  # not profile_tasks: it writes to stdout
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="1",
    )
