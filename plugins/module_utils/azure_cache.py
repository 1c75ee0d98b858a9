# Copyright: PAPR Memory engineers
# Apache-2.0
"""The cloud metadata and access tokens of one controller user, shared by the tasks of a run.

Every Azure task is a new process; without this each one fetched the cloud metadata, MSAL's OpenID
configuration and a new token. Entries live in a directory only the controller user can read (0700,
files 0600, checked before use), are written atomically (a temporary file renamed into place, so runs
sharing the machine never read half a file), are keyed by a hash of cloud + tenant + client + the
credential (never the secret itself) and expire with the token, minus a margin. Anything that goes
wrong (a home that is not writable, as in some AWX containers; a directory someone else can read; a
damaged file) turns the cache off quietly: the task then asks Azure as before.

PAPR_AZURE_CACHE_DIR moves the directory; PAPR_AZURE_CACHE=off turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time

CACHE_DIR_VARIABLE = "PAPR_AZURE_CACHE_DIR"
CACHE_SWITCH_VARIABLE = "PAPR_AZURE_CACHE"
# A cached token is used only while it has at least this long left: a task never starts with a token
# that expires in the middle of a long-running operation (azure-core refreshes it then anyway).
TOKEN_MARGIN_SECONDS = 300
# Cloud metadata changes rarely; an hour keeps a long run on one fetch.
METADATA_TTL_SECONDS = 3600


def default_directory():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "papr-memory", "azure")


def cache_key(*parts):
    """A file name from the parts; the parts (a secret among them) cannot be read back from it."""
    material = "\0".join(str(part or "") for part in parts).encode()
    return hashlib.sha256(material).hexdigest()


class DiskCache:
    """JSON entries with an expiry time, in a directory private to the current user."""

    def __init__(self, directory=None):
        self.directory = None
        if (os.environ.get(CACHE_SWITCH_VARIABLE) or "").lower() in ("off", "0", "false", "no"):
            return
        directory = directory or os.environ.get(CACHE_DIR_VARIABLE) or default_directory()
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            info = os.lstat(directory)
        except OSError:
            return
        private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
        if private and os.access(directory, os.W_OK | os.X_OK):
            self.directory = directory

    @property
    def enabled(self):
        return self.directory is not None

    def _path(self, kind, key):
        return os.path.join(self.directory, f"{kind}-{key}.json")

    def get(self, kind, key, now=None):
        """The entry's value while it has not expired, else None."""
        if not self.enabled:
            return None
        path = self._path(kind, key)
        try:
            with open(path, encoding="utf-8") as handle:
                info = os.fstat(handle.fileno())
                if info.st_uid != os.getuid() or info.st_mode & 0o077:
                    return None
                entry = json.load(handle)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("expires", 0) <= (now or time.time()):
            return None
        return entry.get("value")

    def put(self, kind, key, value, expires):
        """Write the entry atomically (0600); failures only mean the next task asks Azure again."""
        if not self.enabled:
            return
        try:
            handle, temporary = tempfile.mkstemp(prefix=f".{kind}-", dir=self.directory)  # mode 0600
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump({"expires": expires, "value": value}, stream)
                os.replace(temporary, self._path(kind, key))
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass


class CachedTokenCredential:
    """A token credential answering from the cache; the real credential is built only on a miss.

    `make_credential` builds the azure-identity credential (importing azure-identity and MSAL, and
    fetching the OpenID configuration, only when a token is really needed).
    """

    def __init__(self, make_credential, cache, key):
        self._make_credential = make_credential
        self._credential = None
        self._cache = cache
        self._key = key

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        entry_key = cache_key(self._key, " ".join(scopes), kwargs.get("tenant_id"), kwargs.get("claims"))
        cached = None if kwargs.get("claims") else self._cache.get("token", entry_key)
        if cached and cached.get("expires_on", 0) - TOKEN_MARGIN_SECONDS > time.time():
            return AccessToken(cached["token"], int(cached["expires_on"]))
        if self._credential is None:
            self._credential = self._make_credential()
        token = self._credential.get_token(*scopes, **kwargs)
        self._cache.put(
            "token",
            entry_key,
            {"token": token.token, "expires_on": token.expires_on},
            expires=token.expires_on - TOKEN_MARGIN_SECONDS,
        )
        return token

    def close(self):
        if self._credential is not None and hasattr(self._credential, "close"):
            self._credential.close()
