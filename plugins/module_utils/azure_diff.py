# Copyright: PAPR Memory engineers
# Apache-2.0
"""Normalise what Azure answers and what the playbook asks for, compare, and mask secrets in diffs.

Azure stores app settings as strings, answers locations as display names ("East US") on some
reads and canonical names ("eastus") on others, and normalises SKU case. Comparing raw values
would report a change on every run, so every comparison goes through these functions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re

MASK = "********"
MASK_CHANGED = "******** (changed)"

# Names whose values are secret even when the playbook does not say so.
SECRET_NAME_PATTERN = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|CONNECTION_?STRING|CONNSTR|(^|_)KEY$|API_?KEY|PRIVATE)", re.IGNORECASE
)


def normalise_location(location):
    """'East US' and 'eastus' are the same region."""
    return re.sub(r"[\s_-]", "", location or "").lower()


def same_location(a, b):
    return normalise_location(a) == normalise_location(b)


def setting_string(value):
    """An app setting value as Azure stores it: always a string (booleans as true/false)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def string_map(values):
    return {str(name): setting_string(value) for name, value in (values or {}).items()}


def desired_tags(requested, purge, current):
    """Tags the resource should end with: unmanaged (None), exactly `requested`, or merged into `current`."""
    current = current or {}
    if requested is None:
        return dict(current)
    wanted = string_map(requested)
    return wanted if purge else {**current, **wanted}


# The `tags` / `purge_tags` options of every taggable module (documented in doc fragment azure.tags).
TAGS_ARGUMENT_SPEC = dict(tags=dict(type="dict"), purge_tags=dict(type="bool", default=True))


def same_text(a, b):
    """Case-insensitive equality for values Azure re-cases (SKU names, tiers, enum values)."""
    return (a or "").lower() == (b or "").lower()


def is_secret_name(name, declared_secret_names=()):
    return name in declared_secret_names or bool(SECRET_NAME_PATTERN.search(name))


def merge_settings(current, desired, authoritative):
    """The settings Azure should end with: `desired` alone, or `current` updated with `desired`."""
    if authoritative:
        return dict(desired)
    merged = dict(current)
    merged.update(desired)
    return merged


def masked_pair(before, after, secret_names):
    """(before, after) copies of two name->value maps with secret values masked.

    A changed secret shows as MASK_CHANGED in `after`, so the diff still says that it changed.
    """
    masked_before, masked_after = {}, {}
    for name, value in (before or {}).items():
        masked_before[name] = MASK if name in secret_names else value
    for name, value in (after or {}).items():
        if name in secret_names:
            unchanged = before is not None and name in before and before[name] == value
            masked_after[name] = MASK if unchanged else MASK_CHANGED
        else:
            masked_after[name] = value
    return masked_before, masked_after


def changed_keys(before, after):
    """Top-level keys whose values differ (including keys only on one side)."""
    before, after = before or {}, after or {}
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


# Tag holding a salted hash of secrets Azure never returns (ACI secure variables, registry and database
# passwords): the only way to tell, on the next run, whether such a secret changed.
SECRETS_TAG = "papr-secrets-hash"
# PBKDF2 work factor: the tag is readable by anyone who can read the resource, so guessing must be slow.
SECRETS_HASH_ITERATIONS = 200_000


def with_secrets_hash_masked(view):
    """A copy of a compared view for diffs: the `secrets_hash` tag is only said to be there (or to change)."""
    shown = dict(view)
    if "secrets_hash" in shown:
        shown["secrets_hash"] = MASK if shown["secrets_hash"] else None
    return shown


def secrets_fingerprint(secrets, current_tag):
    """Tag value for [(where, value), ...]; the current salt is reused: unchanged secrets, same tag."""
    if not secrets:
        return None
    salt = None
    if current_tag and "$" in current_tag:
        try:
            salt = base64.b64decode(current_tag.split("$", 1)[0], validate=True)
        except (ValueError, binascii.Error):
            salt = None
    salt = salt or os.urandom(16)
    material = "\n".join(f"{where}={value}" for where, value in secrets).encode()
    digest = hashlib.pbkdf2_hmac("sha256", material, salt, SECRETS_HASH_ITERATIONS)
    return base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()
