"""The double runs what is deployed: a site or slot whose container image exists on this machine
runs with the site's app settings and startup command, and answers at its host name.

How a deployed app runs here, and why:
- As processes from the working tree (the image is built from it, tests/image tests the image),
  not as a podman container: a process starts in about a second and needs no image build in the
  test tier. Each app gets its own network and mount namespace (`unshare`), so, as in its
  container, it listens on the port its startup command names (5001, 8080: no clash with the
  machine or another app) and its /etc/hosts maps the deployed host names to its loopback.
- The deployed addresses resolve to the local stack: inside the app's namespace, the PostgreSQL
  port of DATABASE_URL is a TLS front (like the flexible server, it speaks TLS, so
  `sslmode=require` holds) forwarding to the local PostgreSQL, whose role and databases are
  those of the flexible server in the double; TEMPORAL_ADDRESS's port forwards to the local
  Temporal. Nothing in the settings is rewritten.
- The site's host name is reached through the double: a front door (an HTTP CONNECT proxy on
  the double's side, `proxy_url`) answers for `*.azurewebsites.net` with the double's CA and
  relays to the app's WEBSITES_PORT. Clients use it as HTTPS_PROXY.
- Like App Service, a change of the image, startup command, app settings or state restarts the
  app, and an app that exits is started again (after a growing pause).
- Container groups: the init containers named in `init_containers` (those whose tools this machine
  has, such as psql) run once per group definition, as ACI runs them when it (re)starts a group:
  their command and environment as stored, their secret volumes mounted read-only at their mount
  paths (under /mnt, on a tmpfs of their own), the PostgreSQL of PGHOST/PGPORT reached like an
  app's. Their exit code and log are in `init_runs`. The other containers do not run here.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import select
import shlex
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .server import AzureDouble

# The app's namespace: loopback up, its own /etc/hosts, then wait for the forwarders, then run.
NAMESPACE_SCRIPT = (
    'ip link set lo up && mount --bind "$1" /etc/hosts && eval "$4" && echo ready && exec >>"$3" 2>&1 '
    '&& read -r go && exec sh -c "$2"'
)
INIT_CONTAINER_SECONDS = 120  # an init container that runs longer is stopped and counted as failed
SSL_REQUEST = 80877103  # PostgreSQL's SSLRequest and GSSENCRequest codes
GSSENC_REQUEST = 80877104
WATCH_SECONDS = 0.5
STOP_SECONDS = 10
RESTART_PAUSES = (1, 2, 5, 10)  # seconds before restarting an app that exited, then every 10 s


@dataclass(frozen=True)
class LocalImage:
    """A container image this machine has, run as a process: its work dir, the folder its commands
    are found in (the image's PATH), and its ENV."""

    workdir: Path
    bin_dir: Path
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LocalStackAddresses:
    """Where the deployed PostgreSQL and Temporal really run on this machine."""

    postgres_port: int
    temporal_port: int
    postgres_admin: Callable[[], Any]  # () -> an autocommit psycopg connection as superuser


@dataclass(frozen=True)
class AppSpec:
    """What App Service would run for a site: compared to notice a change."""

    host: str
    image: str
    command: str
    settings: tuple[tuple[str, str], ...]
    mounts: tuple[tuple[str, str], ...] = ()  # (folder here, mount path in the container), read-only

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.settings)

    @property
    def port(self) -> int:
        return int(self.environment.get("WEBSITES_PORT") or 80)


class RunningApp:
    """One site's process in its own network namespace, with the forwarders it needs."""

    def __init__(
        self,
        spec: AppSpec,
        image: LocalImage,
        stack: LocalStackAddresses,
        log_path: Path,
        database_server: Callable[[], tuple[str, str, list[str]] | None],
    ):
        self.spec = spec
        self.database_server = database_server  # () -> (login, password, databases) of the server
        self.image = image
        self.stack = stack
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.namespace_fd: int | None = None
        self.starts = 0
        self.exit_codes: list[int] = []
        self._listeners: list[socket.socket] = []
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._work = log_path.parent / "apps" / spec.host  # the app's HOME and its /etc/hosts
        self._work.mkdir(parents=True, exist_ok=True)
        self.restart_at: float | None = None  # set when the process exited

    # --- process -------------------------------------------------------------------------------
    def start(self, tls: ssl.SSLContext) -> None:
        self.starts += 1
        environment = {
            "PATH": f"{self.image.bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self._work),
            "LANG": "C.UTF-8",
            **self.image.env,
            "WEBSITE_SITE_NAME": self.spec.host.split(".", 1)[0],
            "WEBSITE_HOSTNAME": self.spec.host,
            **self.spec.environment,
        }
        hosts_file = self._work / "hosts"
        names = " ".join(sorted(self._deployed_names()))
        hosts_file.write_text(f"127.0.0.1 localhost {names}\n::1 localhost\n")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {self.starts}: {self.spec.command}\n".encode())
        mounts = " && ".join(
            ["mount -t tmpfs tmpfs /mnt"] * bool(self.spec.mounts)
            + [f"mkdir -p {shlex.quote(to)} && mount --bind -o ro {shlex.quote(source)} {shlex.quote(to)}"
               for source, to in self.spec.mounts]
        ) or "true"  # fmt: skip
        command = ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c", NAMESPACE_SCRIPT,
                   "app", str(hosts_file), self.spec.command, str(self.log_path), mounts]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=self.image.workdir,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        ready = self.process.stdout.readline()
        if ready.strip() != b"ready":
            self.process.wait(timeout=STOP_SECONDS)
            raise RuntimeError(f"the namespace of {self.spec.host} failed: {ready.decode(errors='replace')}")
        self.namespace_fd = os.open(f"/proc/{self.process.pid}/ns/net", os.O_RDONLY)
        self._forward_backends(tls)
        self.process.stdin.write(b"go\n")
        self.process.stdin.close()

    def _deployed_names(self) -> set[str]:
        names = set()
        for address in self._backend_addresses().values():
            names.add(address[0])
        return {name for name in names if name and not re.fullmatch(r"[\d.]+", name)}

    def _backend_addresses(self) -> dict[str, tuple[str, int]]:
        """The deployed PostgreSQL and Temporal (host, port), as the app settings name them."""
        settings = self.spec.environment
        found = {}
        if database_url := settings.get("DATABASE_URL"):
            parts = urlsplit(database_url)
            found["postgres"] = (parts.hostname or "", parts.port or 5432)
        elif settings.get("PGHOST"):  # libpq's own variables (a container running psql)
            found["postgres"] = (settings["PGHOST"], int(settings.get("PGPORT") or 5432))
        if temporal := settings.get("TEMPORAL_ADDRESS"):
            host, _, port = temporal.rpartition(":")
            if port.isdigit():
                found["temporal"] = (host, int(port))
        return found

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process and self.process.stdout:
            self.process.stdout.close()
        with self._lock:
            sockets, self._listeners, self._connections = self._listeners + self._connections, [], []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self.namespace_fd is not None:
            os.close(self.namespace_fd)
            self.namespace_fd = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # --- sockets in the app's namespace --------------------------------------------------------
    def in_namespace(self, make: Callable[[], socket.socket]) -> socket.socket:
        """Create a socket inside the app's network namespace (a socket keeps the namespace it was
        made in; only a short-lived thread of ours ever enters it)."""
        outcome: dict[str, Any] = {}
        namespace_fd = self.namespace_fd
        if namespace_fd is None:  # between a crash and the restart: nothing listens
            raise ConnectionRefusedError(f"{self.log_path.name}: the app is not running")

        def enter() -> None:
            try:
                os.setns(namespace_fd, os.CLONE_NEWNET)
                outcome["socket"] = make()
            except OSError as error:
                outcome["error"] = error

        thread = threading.Thread(target=enter, name="azure-double-setns")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["socket"]

    def connect(self, port: int, timeout: float = 10) -> socket.socket:
        sock = self.in_namespace(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        sock.settimeout(timeout)
        try:
            sock.connect(("127.0.0.1", port))
        except OSError:
            sock.close()
            raise
        sock.settimeout(None)
        self._track(sock)
        return sock

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections = [s for s in self._connections if s.fileno() != -1] + [sock]

    def _forward_backends(self, tls: ssl.SSLContext) -> None:
        for kind, (_host, port) in self._backend_addresses().items():

            def listen(port: int = port) -> socket.socket:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(("127.0.0.1", port))
                listener.listen(64)
                return listener

            listener = self.in_namespace(listen)
            with self._lock:
                self._listeners.append(listener)
            if kind == "postgres":
                self._provision_postgres()
                handle = self._postgres_front(tls)
            else:
                handle = self._relay_to(self.stack.temporal_port)
            threading.Thread(target=self._accept, args=(listener, handle), daemon=True).start()

    def _accept(self, listener: socket.socket, handle: Callable[[socket.socket], None]) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            self._track(client)
            threading.Thread(target=self._handle_quietly, args=(handle, client), daemon=True).start()

    @staticmethod
    def _handle_quietly(handle: Callable[[socket.socket], None], client: socket.socket) -> None:
        try:
            handle(client)
        except (OSError, ssl.SSLError):
            pass  # the peer went away: so would a TCP connection to Azure
        finally:
            client.close()

    def _relay_to(self, port: int) -> Callable[[socket.socket], None]:
        def relay(client: socket.socket) -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as backend:
                backend.settimeout(None)
                pump(client, backend)

        return relay

    def _postgres_front(self, tls: ssl.SSLContext) -> Callable[[socket.socket], None]:
        """The flexible server's side of the PostgreSQL handshake: TLS on request (GSS encryption
        refused), then the rest of the conversation relayed in the clear to the local server."""

        def front(client: socket.socket) -> None:
            while True:
                header = _receive_exactly(client, 8)
                length, code = struct.unpack("!II", header)
                if length == 8 and code == GSSENC_REQUEST:
                    client.sendall(b"N")
                    continue
                break
            with socket.create_connection(("127.0.0.1", self.stack.postgres_port), timeout=10) as backend:
                backend.settimeout(None)
                if length == 8 and code == SSL_REQUEST:
                    client.sendall(b"S")
                    secure = tls.wrap_socket(client, server_side=True)
                    self._track(secure)
                    pump(secure, backend)
                else:
                    backend.sendall(header)
                    pump(client, backend)

        return front

    def _provision_postgres(self) -> None:
        """The flexible server's administrator and databases, as the double holds them."""
        server = self.database_server()
        if server is None:
            return
        login, password, databases = server
        import psycopg  # noqa: PLC0415 - only the tests that run deployed apps need the driver

        with self.stack.postgres_admin() as conn:
            role = psycopg.sql.Identifier(login)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            # Azure's administrator: no superuser, but CREATEDB and CREATEROLE (azure_pg_admin).
            conn.execute(
                psycopg.sql.SQL(verb + " ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD {}").format(
                    role, psycopg.sql.Literal(password)
                )
            )
            for database in databases:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
                    conn.execute(
                        psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            psycopg.sql.Identifier(database), role
                        )
                    )


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed during the handshake")
        data += chunk
    return data


def pump(one: socket.socket, other: socket.socket) -> None:
    """Relay bytes both ways until either side closes (one thread: an SSL socket must not be read
    and written from two threads at once)."""
    peers = {one: other, other: one}
    while True:
        ready = [s for s in peers if isinstance(s, ssl.SSLSocket) and s.pending()]
        if not ready:
            try:
                ready, _, _ = select.select(list(peers), [], [])
            except ValueError:
                return  # a socket closed by RunningApp.stop()
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)


class DeployedApps:
    """Watches the double's sites and slots and runs those whose image is local (see the module
    docstring). `proxy_url` is the front door for `https://<site host name>`."""

    def __init__(
        self,
        double: AzureDouble,
        images: dict[str, LocalImage],
        stack: LocalStackAddresses,
        logs: Path,
        init_containers: dict[str, LocalImage] | None = None,
    ):
        self.double = double
        self.images = images  # image repository (no tag) or full reference -> how it runs here
        # Init container name -> how it runs here (see the module docstring).
        self.init_containers = init_containers or {}
        self.init_runs: dict[str, InitRun] = {}  # "<group name>/<container>" -> its last run
        self.stack = stack
        self.logs = logs
        self.apps: dict[str, RunningApp] = {}  # lower-cased site id -> its running app
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.tls = double.tls_context_for("*.azurewebsites.net", "*.postgres.database.azure.com")
        self._front_door = _FrontDoor(self)
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self._front_door.server_address[1]}"

    def start(self) -> DeployedApps:
        for target, name in ((self._front_door.serve_forever, "front-door"), (self._watch, "deployed-apps")):
            thread = threading.Thread(target=target, name=f"azure-double-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._front_door.shutdown()
        self._front_door.server_close()
        for thread in self._threads:
            thread.join(timeout=STOP_SECONDS * 2)
        with self._lock:
            apps, self.apps = list(self.apps.values()), {}
        for app in apps:
            app.stop()

    def app_for_host(self, host: str) -> RunningApp | None:
        with self._lock:
            return next((app for app in self.apps.values() if app.spec.host == host.lower()), None)

    def image_for(self, reference: str) -> LocalImage | None:
        repository = reference.rsplit(":", 1)[0] if ":" in reference.rsplit("/", 1)[-1] else reference
        return self.images.get(reference) or self.images.get(repository)

    # --- the watch loop ------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            try:
                self._converge()
            except Exception as error:  # noqa: BLE001 - reported to the tests, the loop goes on
                self.errors.append(repr(error))

    def _desired(self) -> dict[str, AppSpec]:
        store = self.double.store
        sites = store.matching(
            lambda _k, v: v.get("type") in ("Microsoft.Web/sites", "Microsoft.Web/sites/slots")
        )
        wanted = {}
        for site in sites:
            rid = site["id"]
            config = (store.get(rid + "/config/web") or {}).get("properties") or {}
            fx = config.get("linuxFxVersion") or ""
            if (
                not fx.upper().startswith("DOCKER|")
                or site["properties"].get("state", "Running") != "Running"
            ):
                continue
            image = fx.split("|", 1)[1]
            if self.image_for(image) is None:
                continue
            settings = (store.get(rid + "/config/appsettings") or {}).get("properties") or {}
            wanted[rid.lower()] = AppSpec(
                host=site["properties"]["defaultHostName"].lower(),
                image=image,
                command=config.get("appCommandLine") or "",
                settings=tuple(sorted(settings.items())),
            )
        return wanted

    def _run_init_containers(self) -> None:
        """Each named init container of each group, once per definition of the group (a changed
        group is a restarted group), in the group's order, stopping at the first that fails."""
        store = self.double.store
        for group in store.matching(
            lambda _k, v: v.get("type") == "Microsoft.ContainerInstance/containerGroups"
        ):
            properties = group.get("properties") or {}
            volumes = {volume["name"]: volume for volume in properties.get("volumes") or []}
            for container in properties.get("initContainers") or []:
                image = self.init_containers.get(container["name"])
                if image is None:
                    continue
                key = f"{group['name']}/{container['name']}"
                definition = repr((container, volumes))
                if key in self.init_runs and self.init_runs[key].definition == definition:
                    if self.init_runs[key].exit_code != 0:
                        break
                    continue
                run = self._run_init_container(key, container, volumes, image)
                run.definition = definition
                self.init_runs[key] = run
                if run.exit_code != 0:
                    break

    def _run_init_container(
        self, key: str, container: dict, volumes: dict[str, dict], image: LocalImage
    ) -> InitRun:
        properties = container.get("properties") or {}
        environment = {
            variable["name"]: variable.get("value", variable.get("secureValue")) or ""
            for variable in properties.get("environmentVariables") or []
        }
        work = self.logs / "init" / key.replace("/", "-")
        mounts = []
        for mount in properties.get("volumeMounts") or []:
            folder = work / "volumes" / mount["name"]
            folder.mkdir(parents=True, exist_ok=True)
            for name, content in ((volumes.get(mount["name"]) or {}).get("secret") or {}).items():
                (folder / name).write_bytes(base64.b64decode(content))
                (folder / name).chmod(0o600)
            if not mount["mountPath"].startswith("/mnt/"):
                raise ValueError(
                    f"{key}: the double mounts volumes under /mnt only, not {mount['mountPath']}"
                )
            mounts.append((str(folder), mount["mountPath"]))
        spec = AppSpec(
            host=key.replace("/", "-"),
            image=properties.get("image") or "",
            command=shlex.join(properties.get("command") or []),
            settings=tuple(sorted(environment.items())),
            mounts=tuple(mounts),
        )
        app = RunningApp(
            spec, image, self.stack, self.logs / f"{spec.host}.log", lambda: self._server_for(spec)
        )
        app.start(self.tls)
        try:
            exit_code = app.process.wait(timeout=INIT_CONTAINER_SECONDS)
        except subprocess.TimeoutExpired:
            exit_code = -1
        finally:
            app.stop()
        return InitRun(exit_code, app.log_tail(200))

    def _converge(self) -> None:
        try:
            self._run_init_containers()
        except Exception as error:  # noqa: BLE001 - reported to the tests; the sites still run
            self.errors.append(repr(error))
        wanted = self._desired()
        with self._lock:
            current = dict(self.apps)
        for rid, app in current.items():
            if wanted.get(rid) != app.spec:
                app.stop()
                with self._lock:
                    self.apps.pop(rid, None)
        for rid, spec in wanted.items():
            with self._lock:
                app = self.apps.get(rid)
            if app is None:
                log = self.logs / f"{spec.host}.log"
                app = RunningApp(
                    spec, self.image_for(spec.image), self.stack, log, lambda s=spec: self._server_for(s)
                )
                with self._lock:
                    self.apps[rid] = app
                app.start(self.tls)
            elif app.exited() and app.restart_at is None:
                app.exit_codes.append(app.process.returncode)
                app.restart_at = (
                    time.monotonic() + RESTART_PAUSES[min(len(app.exit_codes), len(RESTART_PAUSES)) - 1]
                )
            elif app.exited() and time.monotonic() >= app.restart_at:
                app.stop()
                app.start(self.tls)
                app.restart_at = None

    def _server_for(self, spec: AppSpec) -> tuple[str, str, list[str]] | None:
        """The administrator and databases of the flexible server DATABASE_URL (or PGHOST) names."""
        database_url = spec.environment.get("DATABASE_URL")
        host = (
            (urlsplit(database_url).hostname or "") if database_url else spec.environment.get("PGHOST", "")
        ).lower()
        servers = self.double.store.matching(
            lambda _k, v: (
                v.get("type") == "Microsoft.DBforPostgreSQL/flexibleServers"
                and (v.get("properties") or {}).get("fullyQualifiedDomainName", "").lower() == host
            )
        )
        if not host or not servers:
            return None
        server = servers[0]
        databases = [database["name"] for database in self.double.store.children(server["id"], "databases")]
        return server["properties"]["administratorLogin"], server["_password"], databases


@dataclass
class InitRun:
    """How an init container's run ended: its exit code (-1: stopped after INIT_CONTAINER_SECONDS)
    and the tail of its log."""

    exit_code: int
    log: str
    definition: str = ""


def _read_request(sock: socket.socket, limit: int = 1 << 20) -> None:
    """Read one HTTP request (head, then a Content-Length body) and drop it."""
    sock.settimeout(10)
    received = b""
    with contextlib.suppress(OSError, ssl.SSLError):
        while b"\r\n\r\n" not in received and len(received) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                return
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
        remaining = min(int(length.group(1)), limit) - len(body) if length else 0
        while remaining > 0 and (chunk := sock.recv(min(remaining, 65536))):
            remaining -= len(chunk)


class _FrontDoor(socketserver.ThreadingTCPServer):
    """HTTP CONNECT to `<site host name>:443`: TLS with the double's CA, then the app's port."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, apps: DeployedApps):
        self.apps = apps
        super().__init__(("127.0.0.1", 0), _FrontDoorHandler)


class _FrontDoorHandler(socketserver.StreamRequestHandler):
    server: _FrontDoor

    def handle(self) -> None:
        request_line = self.rfile.readline(65536).decode("latin-1")
        while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
            pass
        match = re.fullmatch(r"CONNECT ([^\s:]+):(\d+) HTTP/1\.[01]\r?\n", request_line)
        if not match:
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            return
        app = self.server.apps.app_for_host(match.group(1))
        if app is None:  # no such site running here: as if its name did not resolve
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            return
        self.wfile.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        self.wfile.flush()
        secure = self.server.apps.tls.wrap_socket(self.connection, server_side=True)
        try:
            backend = app.connect(app.spec.port)
        except OSError:
            # App Service's answer while the container does not listen (starting or crashed). The
            # request is read first: closing a socket with unread data sends a reset, which can
            # reach the client before the 503 does.
            _read_request(secure)
            body = b"Application Error: the container did not answer on WEBSITES_PORT."
            secure.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            secure.close()
            return
        with contextlib.suppress(OSError, ssl.SSLError):
            pump(secure, backend)
        backend.close()
        secure.close()
