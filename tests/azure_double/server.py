"""The Azure double: one HTTPS server answering as Entra ID, the cloud metadata endpoint and ARM."""

from __future__ import annotations

import re
import ssl
import sys
import tempfile
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

from . import control
from .arm import deep_merge
from .faults import Faults, rule
from .http import DoubleError, Request, Response, arm_error
from .identity import Identity
from .lro import Operations
from .router import Router
from .store import ResourceStore

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-privatepreview)?$")
# POSTs that only read (ARM's list* actions and name checks); every other POST changes something.
READ_ONLY_POST = re.compile(r"/(list[a-z]*|checknameavailability|validate[a-z]*)$", re.IGNORECASE)
WRITE_METHODS = {"PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class LogEntry:
    method: str
    path: str
    api_version: str | None
    status: int

    @property
    def is_arm(self) -> bool:
        return self.path.lower().startswith("/subscriptions")

    @property
    def is_write(self) -> bool:
        if not self.is_arm:
            return False
        if self.method in WRITE_METHODS:
            return True
        return self.method == "POST" and not READ_ONLY_POST.search(self.path)


class AzureDouble:
    """Start with `start()` (or as a context manager); `base_url`, `ca_path` and `env` point clients at it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        lro_polls: int = 1,
        lro_seconds: float = 0.0,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        subscription_id: str | None = None,
        state_dir: str | Path | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.client_id = client_id or str(uuid.uuid4())
        self.client_secret = client_secret or "double-" + uuid.uuid4().hex
        self.subscription_id = subscription_id or str(uuid.uuid4())
        self._state_dir = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="azure-double-"))
        self.store = ResourceStore()
        self.operations = Operations(default_polls=lro_polls, default_seconds=lro_seconds)
        self.faults = Faults()
        self._log: list[LogEntry] = []
        self._log_lock = threading.Lock()
        self.arm = Router()
        self.identity: Identity | None = None
        self.deployed = None  # DeployedApps, once run_deployed() is called
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        from .providers import register_all

        register_all(self)

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> AzureDouble:
        self._ca = ca = trustme.CA(organization_name="Azure double test CA")
        cert = ca.issue_cert(self.host, "localhost", "127.0.0.1", "::1")
        self._state_dir.mkdir(parents=True, exist_ok=True)
        self.ca_path = str(self._state_dir / "azure-double-ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)

        self._server = ThreadingHTTPServer((self.host, self.requested_port), _handler_for(self))
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.base_url = f"https://{self.host}:{self.port}"
        self.identity = Identity(self.base_url, self.tenant_id, self.client_id, self.client_secret)
        self._thread = threading.Thread(target=self._server.serve_forever, name="azure-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.deployed:
            self.deployed.stop()
            self.deployed = None
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def tls_context_for(self, *host_names: str) -> ssl.SSLContext:
        """A server-side TLS context for other Azure host names, signed by the double's CA."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert(*host_names).configure_cert(context)
        return context

    def run_deployed(self, images, stack, logs: Path, init_containers=None):
        """Run the sites and slots whose image is in `images` and the container groups' init
        containers named in `init_containers` (see deployed.py); clients reach the sites through
        `self.deployed.proxy_url` as HTTPS proxy."""
        from .deployed import DeployedApps

        assert self.deployed is None, "run_deployed() once per double"
        self.deployed = DeployedApps(self, images, stack, logs, init_containers).start()
        return self.deployed

    def __enter__(self) -> AzureDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- what clients need ------------------------------------------------------------------------
    @property
    def metadata_url(self) -> str:
        return f"{self.base_url}/metadata/endpoints?api-version=2022-09-01"

    @property
    def env(self) -> dict[str, str]:
        """Environment variables for azure-identity's EnvironmentCredential and azure.azcollection."""
        return {
            "AZURE_SUBSCRIPTION_ID": self.subscription_id,
            "AZURE_CLIENT_ID": self.client_id,
            "AZURE_SECRET": self.client_secret,
            "AZURE_CLIENT_SECRET": self.client_secret,
            "AZURE_TENANT": self.tenant_id,
            "AZURE_TENANT_ID": self.tenant_id,
            "AZURE_AUTHORITY_HOST": self.base_url,
            "AZURE_CLOUD_ENVIRONMENT": self.metadata_url,
            "AZURE_RESOURCE_MANAGER_URL": self.base_url,
            "REQUESTS_CA_BUNDLE": self.ca_path,
            "SSL_CERT_FILE": self.ca_path,
        }

    @property
    def managed_identity_env(self) -> dict[str, str]:
        """What App Service sets for a managed identity (read by ManagedIdentityCredential)."""
        assert self.identity is not None, "start() the double first"
        return {
            "IDENTITY_ENDPOINT": f"{self.base_url}/msi/token",
            "IDENTITY_HEADER": self.identity.identity_header,
        }

    def credential(self, **kwargs: Any):
        """A real azure-identity ClientSecretCredential pointed at the double."""
        from azure.identity import ClientSecretCredential

        return ClientSecretCredential(
            self.tenant_id,
            self.client_id,
            self.client_secret,
            authority=self.base_url,
            disable_instance_discovery=True,
            connection_verify=self.ca_path,
            **kwargs,
        )

    def client(self, client_class: type, **kwargs: Any):
        """An azure-mgmt-* client for the double: `double.client(WebSiteManagementClient)`."""
        return client_class(
            self.credential(),
            self.subscription_id,
            base_url=self.base_url,
            credential_scopes=["https://management.azure.com/.default"],
            connection_verify=self.ca_path,
            polling_interval=0,
            **kwargs,
        )

    def token(self, lifetime_s: int = 3600) -> str:
        """An ARM bearer token for raw HTTP requests in tests (a negative lifetime makes an expired one)."""
        assert self.identity is not None, "start() the double first"
        return self.identity.issue_token("https://management.azure.com/", lifetime_s)

    # --- request log ------------------------------------------------------------------------------
    def requests(self, method: str | None = None, path: str | None = None) -> list[LogEntry]:
        """Logged requests, optionally filtered by method and a path regex (case-insensitive)."""
        with self._log_lock:
            entries = list(self._log)
        return [
            e
            for e in entries
            if (method is None or e.method == method.upper())
            and (path is None or re.search(path, e.path, re.I))
        ]

    @property
    def request_log(self) -> list[tuple[str, str, str | None, int]]:
        return [(e.method, e.path, e.api_version, e.status) for e in self.requests()]

    def write_count(self, path: str | None = None) -> int:
        """ARM requests that change something (PUT/PATCH/DELETE and POST actions other than list*)."""
        return sum(1 for e in self.requests(path=path) if e.is_write)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # --- state control --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every resource, operation, fault and logged request."""
        self.store.clear()
        self.operations.clear()
        self.faults.clear()
        self.clear_log()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every stored resource by lower-cased id (stored state: secrets included, for assertions)."""
        return self.store.snapshot()

    def load(self, state: dict[str, dict[str, Any]]) -> None:
        """Hold exactly the resources of `state` (a snapshot): the others go, and each of its own is
        put back as it was, in creation order (as ARM lists them)."""
        for resource_id in set(self.store.snapshot()) - set(state):
            self.store.delete(resource_id)
        for resource_id, resource in state.items():
            self.store.put(resource_id, resource)

    def resource(self, resource_id: str) -> dict[str, Any] | None:
        return self.store.get(resource_id)

    def drift(
        self, resource_id: str, change: dict[str, Any] | Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """Change a stored resource out of band, as a portal user would (merge-patch dict or callable)."""

        def mutate(state: dict[str, Any]) -> None:
            if callable(change):
                change(state)
            else:
                merged = deep_merge(state, change)
                state.clear()
                state.update(merged)

        result = self.store.update(resource_id, mutate)
        if result is None:
            raise KeyError(f"no resource {resource_id}")
        return result

    # --- faults -------------------------------------------------------------------------------------
    def inject_status(
        self,
        path: str,
        status: int = 429,
        *,
        method: str | None = None,
        times: int | None = 1,
        retry_after: int | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer matching requests with `status` (e.g. 429 + Retry-After, 500, 503) `times` times."""
        if retry_after is None and status in (429, 503):
            retry_after = 1
        self.faults.add(
            rule(
                "status",
                method,
                path,
                times,
                status=status,
                retry_after=retry_after,
                code=code,
                message=message,
            )
        )

    def fail_operations(
        self,
        path: str,
        code: str = "InternalServerError",
        message: str = "An unexpected error occured while processing the request.",
        *,
        method: str | None = None,
        times: int | None = 1,
        polls: int | None = None,
    ) -> None:
        """The long-running operation a matching request starts ends Failed with error{code, message}."""
        self.faults.add(
            rule("operation", method, path, times, fail=True, code=code, message=message, polls=polls)
        )

    def slow_operations(
        self, path: str, polls: int, *, method: str | None = None, times: int | None = None
    ) -> None:
        """Long-running operations started by matching requests need `polls` polls to finish."""
        self.faults.add(rule("operation", method, path, times, polls=polls))

    def clear_faults(self) -> None:
        self.faults.clear()

    def operation_overrides(self, request: Request) -> dict[str, Any]:
        """Keyword arguments for Operations.start from the fault rules matching `request`."""
        fault = self.faults.take("operation", request.method, request.path)
        if fault is None:
            return {}
        overrides: dict[str, Any] = {}
        if fault.polls is not None:
            overrides["polls"] = fault.polls
        if fault.fail:
            overrides["failure"] = (fault.code, fault.message)
        return overrides

    # --- the request pipeline ---------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_double/"):
            return control.handle(self, request)
        try:
            response = self._answer(request)
        except DoubleError as error:
            response = error.response
        except Exception:  # noqa: BLE001 - a bug in the double must surface as a 500, not a hung client
            traceback.print_exc(file=sys.stderr)
            response = arm_error(
                500, "InternalServerError", "The Azure double failed; see its stderr."
            ).response
        with self._log_lock:
            self._log.append(LogEntry(request.method, request.path, request.api_version, response.status))
        return response

    def _answer(self, request: Request) -> Response:
        fault = self.faults.take("status", request.method, request.path)
        if fault is not None:
            return Faults.status_response(fault)
        lower = request.path.lower()
        if lower.startswith("/metadata/endpoints"):
            return self.identity.cloud_metadata(request)
        if not (
            lower.startswith("/subscriptions")
            or lower.startswith("/providers")
            or lower.startswith("/tenants")
        ):
            return self._answer_identity(request)
        self.identity.check_bearer(request)
        self._check_subscription(request)
        if not request.api_version:
            raise arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if not API_VERSION_RE.match(request.api_version):
            raise arm_error(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{request.api_version}' is invalid. Supported versions are dated versions.",
            )
        return self.arm.dispatch(request)

    def _answer_identity(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) >= 3 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self.identity.openid_configuration(parts[0])
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"] and request.method == "POST":
            return self.identity.token(parts[0], request)
        if parts == ["msi", "token"] and request.method == "GET":
            return self.identity.managed_identity_token(request)
        if len(parts) == 3 and parts[1:] == ["discovery", "instance"]:
            return self.identity.instance_discovery(request)
        raise DoubleError(
            404, {"error": "not_found", "error_description": f"No such endpoint: {request.path}"}
        )

    def _check_subscription(self, request: Request) -> None:
        parts = request.path.split("/")
        if len(parts) < 3 or parts[1].lower() != "subscriptions" or not parts[2]:
            return
        subscription = parts[2]
        if not UUID_RE.match(subscription):
            raise arm_error(
                400,
                "InvalidSubscriptionId",
                f"The provided subscription identifier '{subscription}' is malformed or invalid.",
            )
        if subscription.lower() != self.subscription_id.lower():
            raise arm_error(
                404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found."
            )


def _handler_for(double: AzureDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the SDKs reuse connections
        disable_nagle_algorithm = True  # headers and body go out in separate writes: avoid 40 ms ACK stalls

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request.parse(self.command, self.path, dict(self.headers.items()), body)
            response = double.handle(request)
            payload, content_type = response.encoded()
            self.send_response(response.status)
            headers = {
                "content-type": content_type,
                "cache-control": "no-cache",
                "x-ms-request-id": str(uuid.uuid4()),
                "x-ms-correlation-request-id": request.headers.get(
                    "x-ms-correlation-request-id", str(uuid.uuid4())
                ),
                **response.headers,
            }
            for name, value in headers.items():
                self.send_header(name, value)
            if self.command == "HEAD":
                payload = b""
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = do_HEAD = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence per-request stderr lines
            return

    return Handler
