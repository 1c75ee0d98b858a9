# Copyright: PAPR Memory engineers
# Apache-2.0
"""Turn a check-and-diff run of site.yml (its json callback output) into rows and a table of drift.

Every task that would change something is one difference from the inventory. The modules' diffs
already mask what they know is secret; these filters mask again whatever looks like a secret
(secret-sounding names, passwords inside URLs), because a file diff or a foreign module may not.
"""

from __future__ import annotations

import json
import re

from ansible_collections.papr.memory.plugins.module_utils.azure_diff import MASK, is_secret_name

# user:password@ inside a URL (DATABASE_URL and the like).
URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^@\s]+@")
# NAME=value or NAME: value lines of env files and configs.
ASSIGNMENT = re.compile(r"^([+\- ]?\s*)([A-Za-z_][A-Za-z0-9_.-]*)(\s*[=:]\s*)(.*)$")
# How long a value may be in the table.
VALUE_WIDTH = 60


def mask_text(text):
    """A line with secret-looking values replaced by the mask."""
    text = URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", str(text))
    match = ASSIGNMENT.match(text)
    if match and is_secret_name(match.group(2)):
        return match.group(1) + match.group(2) + match.group(3) + MASK
    return text


def _masked(path, value):
    if value is None:
        return "-"
    if path and is_secret_name(path.rsplit(".", 1)[-1]):
        return value if value in (MASK, "******** (changed)") else MASK
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    return mask_text(value)


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat or {prefix: {}}
    return {prefix: value}


def _shorten(text):
    text = str(text)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 3] + "..."


def _diff_changes(diff):
    """(what, before, after) triples of one diff (a dict diff, or a text diff of a file)."""
    before, after = diff.get("before"), diff.get("after")
    if isinstance(before, dict) or isinstance(after, dict):
        flat_before, flat_after = _flatten(before or {}), _flatten(after or {})
        return [
            (path, _masked(path, flat_before.get(path)), _masked(path, flat_after.get(path)))
            for path in sorted(set(flat_before) | set(flat_after))
            if flat_before.get(path) != flat_after.get(path)
        ]
    where = diff.get("after_header") or diff.get("before_header") or "content"
    old_lines = str(before or "").splitlines()
    new_lines = str(after or "").splitlines()
    removed = [line for line in old_lines if line not in new_lines]
    added = [line for line in new_lines if line not in old_lines]
    if not removed and not added:
        if before == after:
            return []
        return [(where, _shorten(mask_text(before)), _shorten(mask_text(after)))]
    return [
        (where, _shorten("; ".join(mask_text(line) for line in removed) or "-"),
         _shorten("; ".join(mask_text(line) for line in added) or "-"))
    ]  # fmt: skip


def drift_rows(run):
    """Rows {host, task, what, before, after} for every task of a check-mode run that would change."""
    if isinstance(run, str):
        # The json callback's document, ignoring what other callbacks print around it (in an EE,
        # ansible-runner's own callbacks add lines after it).
        run = json.JSONDecoder().raw_decode(run, run.index("{"))[0]
    rows = []
    for play in run.get("plays", []):
        for task in play.get("tasks", []):
            name = task.get("task", {}).get("name") or "(unnamed task)"
            for host, result in (task.get("hosts") or {}).items():
                if result.get("skipped") or not result.get("changed"):
                    continue
                row = {"host": host, "task": name}
                diffs = result.get("diff")
                diffs = [diffs] if isinstance(diffs, dict) else (diffs or [])
                if result.get("censored") or result.get("_ansible_no_log"):
                    rows.append({**row, "what": "(details hidden: no_log)", "before": "", "after": ""})
                    continue
                changes = [change for diff in diffs for change in _diff_changes(diff)]
                if not changes:
                    rows.append({**row, "what": "(would change; no diff)", "before": "", "after": ""})
                for what, before, after in changes:
                    rows.append({**row, "what": what, "before": _shorten(before), "after": _shorten(after)})
    return rows


def drift_table(rows):
    """The rows as lines of a fixed-width table (one string per line)."""
    if not rows:
        return ["No drift: every resource matches the inventory."]
    columns = ("host", "task", "what", "before", "after")
    widths = {c: max(len(c), *(len(str(row[c])) for row in rows)) for c in columns}
    line = " | ".join(f"{{:<{widths[c]}}}" for c in columns)
    table = [line.format(*columns), "-+-".join("-" * widths[c] for c in columns)]
    table += [line.format(*(str(row[c]) for c in columns)) for row in rows]
    return table


def drift_mask(text):
    """Text (say, a failed run's errors) with secret-looking values masked, line by line."""
    return "\n".join(mask_text(line) for line in str(text or "").splitlines())


class FilterModule:
    def filters(self):
        return {"drift_rows": drift_rows, "drift_table": drift_table, "drift_mask": drift_mask}
