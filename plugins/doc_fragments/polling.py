# Copyright: PAPR Memory engineers
# Apache-2.0
"""Backoff options of the modules that poll until something is true (health_check, temporal_check)."""


class ModuleDocFragment:
    # Matches BACKOFF_ARGUMENT_SPEC in module_utils/polling.py; each module documents its own timeout.
    DOCUMENTATION = r"""
options:
  delay:
    description: Seconds to sleep after the first unsuccessful attempt; doubles after each attempt.
    type: float
    default: 1
  max_delay:
    description: Upper bound of the sleep between attempts.
    type: float
    default: 10
"""
