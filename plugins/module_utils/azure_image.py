# Copyright: PAPR Memory engineers
# Apache-2.0
"""Container image references, checked before anything is sent to Azure.

The grammar is the one container registries use ([registry/]path[:tag][@digest]); App Service and
Container Instances both accept a bad reference and only fail later, when the container cannot
be pulled, so the modules reject it up front.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ansible_collections.papr.memory.plugins.module_utils.azure_errors import AzureModuleError

_DOMAIN = (
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?"
)
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
DOMAIN_PATTERN = re.compile(rf"^{_DOMAIN}$")
PATH_PATTERN = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
TAG_PATTERN = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST_PATTERN = re.compile(r"^sha256:[a-f0-9]{64}$")


@dataclass(frozen=True)
class ImageReference:
    registry: str | None  # host[:port], None for Docker Hub
    repository: str
    tag: str | None
    digest: str | None

    def __str__(self):
        name = f"{self.registry}/{self.repository}" if self.registry else self.repository
        return f"{name}@{self.digest}" if self.digest else f"{name}:{self.tag or 'latest'}"


def _bad(reference, why):
    return AzureModuleError(
        f"Invalid container image reference {reference!r}: {why}. Expected [registry/]repository[:tag] or "
        "[registry/]repository@sha256:<64 hex digits>, for example myregistry.azurecr.io/memory:1.4.2."
    )


def registry_host(server):
    """'https://myregistry.azurecr.io/' -> 'myregistry.azurecr.io'."""
    return re.sub(r"^https?://", "", server or "").rstrip("/").lower() or None


def parse_image(image, tag=None, digest=None, registry_server=None):
    """ImageReference from the module options; the tag/digest may be in `image` or given separately."""
    reference = (image or "").strip()
    if not reference:
        raise _bad(image, "it is empty")
    name, inline_digest = (reference.split("@", 1) + [""])[:2]
    last = name.rsplit("/", 1)[-1]
    inline_tag = None
    if ":" in last:
        name, inline_tag = name.rsplit(":", 1)
    if (inline_tag and tag) or (inline_digest and digest):
        raise _bad(reference, "the tag or digest is given both in `image` and as an option")
    tag, digest = tag or inline_tag, digest or inline_digest or None
    if tag and digest:
        raise _bad(reference, "give a tag or a digest, not both")
    if tag is not None and not TAG_PATTERN.match(tag):
        raise _bad(reference, f"tag {tag!r} is not valid (letters, digits, '_', '.', '-'; at most 128)")
    if digest is not None and not DIGEST_PATTERN.match(digest):
        raise _bad(reference, f"digest {digest!r} is not sha256:<64 lower-case hex digits>")
    first, rest = (name.split("/", 1) + [""])[:2]
    has_registry = rest and ("." in first or ":" in first or first == "localhost")
    registry, repository = (first.lower(), rest) if has_registry else (None, name)
    if registry and not DOMAIN_PATTERN.match(registry):
        raise _bad(reference, f"registry {registry!r} is not a host name")
    if not PATH_PATTERN.match(repository):
        raise _bad(reference, f"repository {repository!r} must be lower-case letters, digits and separators")
    server_host = registry_host(registry_server)
    if server_host and registry and server_host != registry:
        raise _bad(reference, f"its registry {registry} is not the registry server {server_host}")
    return ImageReference(registry or server_host, repository, tag, digest)
