#!/usr/bin/env python3
"""A real single-node Kubernetes 1.20 on this machine, for the aks face's tests and benchmark.

    python -m scripts.k8s.node up [--state-dir DIR]     # prints the kubeconfig path when Ready
    python -m scripts.k8s.node down [--state-dir DIR]

etcd (Debian) + kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy (built from
Debian's kubernetes source by scripts/k8s/build.sh, cached) + containerd, runc and the bridge CNI
plugin (Debian). Everything listens on 127.0.0.1 or the node address on free ports, keeps its
state under one folder, and `down` stops it and cleans what kubelet, kube-proxy and the CNI
plugins write outside that folder: /var/log/pods, /var/log/containers, /var/lib/kubelet,
/var/lib/cni, /run/containerd, network namespaces, iptables chains, kubepods cgroups, sysctls.

Cluster DNS: no CoreDNS image exists here, so the node runs dnsmasq on the pod bridge as the
cluster's DNS server (kubelet --cluster-dns), fed with `<service>.<namespace>.svc.cluster.local`
records by a watch on the API's Services (ServiceDns below): pods resolve Service names as on AKS
and the manifests stay the same.

Facts this depends on (docs/aks.md, "The test cluster"): root here lacks CAP_SYS_RESOURCE, so
containerd needs restrict_oom_score_adj; no registry, so the pause image is built from source and
every image is imported into containerd (imagePullPolicy IfNotPresent finds it).
"""

from __future__ import annotations

import argparse
import calendar
import contextlib
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "k8s" / "build.sh"
DEFAULT_STATE_DIR = Path("/var/tmp/papr-k8s-node")  # noqa: S108 - root only, mode 0700
# One node per machine: the bridge, the pod CIDR and the host paths kubelet hard-codes are shared.
LOCK_FILE = Path("/run/papr-k8s-node.lock")
NODE_NAME = "papr-k8s-node"
CLUSTER_DOMAIN = "cluster.local"
POD_CIDR = ipaddress.ip_network("10.244.0.0/24")
SERVICE_CIDR = "10.96.0.0/16"
BRIDGE = "papr-k8s0"
BRIDGE_ADDRESS = str(next(POD_CIDR.hosts()))  # 10.244.0.1: the pods' gateway and DNS server
CNI_NETWORK = "papr-k8s"
CNI_BIN_DIR = "/usr/lib/cni"
PAUSE_IMAGE = "localhost/papr-k8s/pause:3.4.1-papr"
# Written by kubelet 1.20 / libcni / containerd shims whatever their flags say.
HOST_PATHS = ("/var/log/pods", "/var/log/containers", "/var/lib/kubelet", "/var/lib/cni", "/run/containerd")
# Set by kubelet (the first three) and kube-proxy; restored by down(). ip_forward is not in the
# list: podman's networks need it too and may have turned it on meanwhile.
SYSCTLS = ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops", "net.ipv4.conf.all.route_localnet")
WAIT_READY_SECONDS = 180


def say(message: str) -> None:
    print(f"==> k8s-node: {message}", file=sys.stderr, flush=True)


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: every probe stays bound until all are taken (one probe at a
    time can be given a port again, and a kube-proxy whose healthz port was the apiserver's answered
    its health check with the apiserver's 400 for plain HTTP)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def node_address() -> str:
    """The address of the interface of the default route: kubelet's node IP."""
    words = run(["ip", "-4", "route", "get", "1.1.1.1"]).stdout.split()  # asks the table, sends nothing
    return words[words.index("src") + 1]


def run(
    command: list[str], check: bool = True, timeout: float = 120, **kwargs
) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=check, timeout=timeout, capture_output=True, text=True, **kwargs)


def wait_until(
    what: str, probe: Callable[[], object], timeout: float, process: subprocess.Popen | None = None
):
    """Poll `probe` until it returns something truthy; fail naming `what` (and a dead process)."""
    deadline = time.monotonic() + timeout
    last_error: object = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            log_path = getattr(process, "log_path", None)
            log_tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:]) if log_path else ""
            raise RuntimeError(f"{what}: the process exited with {process.returncode}; log:\n{log_tail}")
        try:
            if result := probe():
                return result
        except Exception as error:  # noqa: BLE001 - reported when the wait gives up
            last_error = error
        time.sleep(0.5)
    raise TimeoutError(f"{what}: not ready within {timeout:g} s (last error: {last_error})")


def build_binaries() -> Path:
    """The cached build (scripts/k8s/build.sh builds it the first time, ~6 minutes)."""
    result = subprocess.run([str(BUILD_SCRIPT)], check=True, stdout=subprocess.PIPE, text=True, timeout=3600)
    return Path(result.stdout.strip().splitlines()[-1]) / "bin"


def build_impossible_reason() -> str | None:
    """Why this machine cannot build or run the node at all (then tests skip, saying so)."""
    if os.geteuid() != 0:
        return "the single-node Kubernetes needs root (containerd, kubelet, iptables)"
    missing = [
        tool
        for tool in (
            "go",
            "gcc",
            "make",
            "etcd",
            "containerd",
            "ctr",
            "runc",
            "iptables",
            "openssl",
            "dnsmasq",
            "podman",
        )
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()
    ]
    if missing or not Path(CNI_BIN_DIR, "bridge").exists():
        return f"missing {', '.join(missing) or 'CNI plugins'}: run scripts/system-packages.sh as root"
    return None


@dataclass
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kubelet: int
    kubelet_healthz: int
    proxy_healthz: int
    proxy_metrics: int

    @classmethod
    def free(cls) -> Ports:
        return cls(*free_ports(len(fields(cls))))


class ServiceDns(threading.Thread):
    """Keeps dnsmasq's hosts file equal to the cluster's Services (a watch on the API), so
    `<name>.<namespace>.svc.cluster.local` resolves in pods as CoreDNS would answer it on AKS."""

    def __init__(self, api: str, context: ssl.SSLContext, hosts_file: Path) -> None:
        super().__init__(name="service-dns", daemon=True)
        self.api, self.context, self.hosts_file = api, context, hosts_file
        self.services: dict[tuple[str, str], str] = {}
        self.stopping = threading.Event()

    def _write(self) -> None:
        lines = [
            f"{ip} {name}.{namespace}.svc.{CLUSTER_DOMAIN}\n"
            for (namespace, name), ip in sorted(self.services.items())
            if ip and ip != "None"
        ]
        temporary = self.hosts_file.with_suffix(".tmp")
        temporary.write_text("".join(lines))
        temporary.replace(self.hosts_file)  # dnsmasq's --hostsdir re-reads it (inotify)

    def _apply(self, kind: str, service: dict) -> None:
        key = (service["metadata"]["namespace"], service["metadata"]["name"])
        if kind == "DELETED":
            self.services.pop(key, None)
        else:
            self.services[key] = service.get("spec", {}).get("clusterIP", "")

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with urllib.request.urlopen(  # noqa: S310 - our URL
                    f"{self.api}/api/v1/services", context=self.context, timeout=10
                ) as reply:
                    listing = json.load(reply)
                self.services.clear()
                for service in listing["items"]:
                    self._apply("ADDED", service)
                self._write()
                version = listing["metadata"]["resourceVersion"]
                url = f"{self.api}/api/v1/services?watch=1&resourceVersion={version}&timeoutSeconds=60"
                with urllib.request.urlopen(url, context=self.context, timeout=90) as stream:  # noqa: S310 - our URL
                    for line in stream:
                        event = json.loads(line)
                        if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                            self._apply(event["type"], event["object"])
                            self._write()
            except Exception:  # noqa: BLE001 - the API restarts or the watch expires: list again
                self.stopping.wait(1)


class SingleNode:
    def __init__(self, state_dir: Path = DEFAULT_STATE_DIR, bin_dir: Path | None = None) -> None:
        self.state_dir = state_dir
        self.bin_dir = bin_dir
        self.address = node_address()
        self.ports = Ports.free()
        self.processes: dict[str, subprocess.Popen] = {}
        self._started_pids: dict[str, int] = {}
        self.dns: ServiceDns | None = None
        self._lock: int | None = None

    # --- paths -------------------------------------------------------------------------------
    @property
    def pki(self) -> Path:
        return self.state_dir / "pki"

    @property
    def kubeconfig(self) -> Path:
        """The cluster administrator's kubeconfig (0600)."""
        return self.state_dir / "admin.kubeconfig"

    @property
    def containerd_socket(self) -> Path:
        return self.state_dir / "run" / "containerd.sock"

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    def binary(self, name: str) -> str:
        assert self.bin_dir is not None
        return str(self.bin_dir / name)

    # --- up ----------------------------------------------------------------------------------
    def up(self) -> dict[str, float]:
        """From nothing to a Ready node; returns seconds per step."""
        timings: dict[str, float] = {}
        started = time.monotonic()
        self._take_lock()
        if self.bin_dir is None:
            self.bin_dir = build_binaries()
        timings["build_or_cache"] = round(time.monotonic() - started, 1)
        if self.state_dir.exists():
            say(f"{self.state_dir} exists: cleaning the previous node first")
            self.down(release_lock=False)
        self.state_dir.mkdir(parents=True, mode=0o700)
        self._record_host_state()
        steps = [
            ("pki", self._make_pki),
            ("etcd", self._start_etcd),
            ("containerd", self._start_containerd),
            ("pause_image", self._import_pause_image),
            ("network", self._start_network),
            ("apiserver", self._start_apiserver),
            ("controllers", self._start_controllers),
            ("kubelet_ready", self._start_kubelet),
            ("kube_proxy", self._start_kube_proxy),
        ]
        for name, step in steps:
            begun = time.monotonic()
            step()
            timings[name] = round(time.monotonic() - begun, 1)
        timings["total"] = round(time.monotonic() - started, 1)
        (self.state_dir / "node.json").write_text(json.dumps(self.describe(), indent=2))
        say(f"node Ready in {timings['total']} s: KUBECONFIG={self.kubeconfig}")
        return timings

    def describe(self) -> dict[str, object]:
        return {
            "kubeconfig": str(self.kubeconfig),
            "api": self.api_url,
            "node": NODE_NAME,
            "node_address": self.address,
            "pod_gateway": BRIDGE_ADDRESS,
            "pids": {name: process.pid for name, process in self.processes.items()},
        }

    def _take_lock(self) -> None:
        descriptor = os.open(LOCK_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise RuntimeError(
                f"another single-node cluster runs on this machine ({LOCK_FILE} is locked)"
            ) from None
        self._lock = descriptor

    def _record_host_state(self) -> None:
        """What existed before, so down() removes only what the node created."""
        (self.state_dir / "host-state.json").write_text(json.dumps(self.host_state(), indent=2))

    @staticmethod
    def _sysctl(name: str) -> str:
        return Path("/proc/sys", name.replace(".", "/")).read_text().strip()

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log_path = self.state_dir / "logs" / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115 - owned by the child
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        log.close()
        process.log_path = log_path  # for wait_until's message when the process dies
        self.processes[name] = process
        self._started_pids[name] = process.pid
        (self.state_dir / "pids" / f"{name}.pid").write_text(str(process.pid))
        return process

    # PKI: one CA; serving and client certificates; one kubeconfig per component.
    def _openssl(self, *args: str) -> None:
        run(["openssl", *args])

    def _private_key(self, path: Path) -> None:
        # ECDSA P-256: as good as RSA here and ~100 times faster to generate on a busy machine.
        self._openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))

    def _certificate(self, name: str, subject: str, client: bool, sans: list[str] | None = None) -> None:
        key, csr, cert = (self.pki / f"{name}.{suffix}" for suffix in ("key", "csr", "crt"))
        self._private_key(key)
        self._openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
        extensions = self.pki / f"{name}.ext"
        usage = "clientAuth" if client else "serverAuth"
        lines = [
            # Python 3.13 verifies strictly: a CA with key usage, leaves with the key identifiers.
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature",
            "subjectKeyIdentifier=hash",
            "authorityKeyIdentifier=keyid,issuer",
            f"extendedKeyUsage={usage}",
        ]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        extensions.write_text("\n".join(lines) + "\n")
        self._openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.pki / "ca.crt"),
            "-CAkey", str(self.pki / "ca.key"),
            "-CAcreateserial", "-days", "30", "-sha256", "-extfile", str(extensions), "-out", str(cert),
        )  # fmt: skip

    def _write_kubeconfig(self, path: Path, user: str) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "papr-k8s",
                    "cluster": {"server": self.api_url, "certificate-authority": str(self.pki / "ca.crt")},
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate": str(self.pki / f"{user}.crt"),
                        "client-key": str(self.pki / f"{user}.key"),
                    },
                }
            ],
            "contexts": [{"name": "papr-k8s", "context": {"cluster": "papr-k8s", "user": user}}],
            "current-context": "papr-k8s",
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(config, handle, indent=2)

    def _make_pki(self) -> None:
        for folder in (
            "pki",
            "logs",
            "pids",
            "etcd",
            "run",
            "kubelet",
            "kubelet-pki",
            "cni/net.d",
            "cni/ipam",
            "dns",
        ):
            (self.state_dir / folder).mkdir(parents=True, exist_ok=True, mode=0o700)
        self._private_key(self.pki / "ca.key")
        self._openssl(
            "req", "-x509", "-new", "-key", str(self.pki / "ca.key"), "-subj", "/CN=papr-k8s-ca",
            "-days", "30", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", str(self.pki / "ca.crt"),
        )  # fmt: skip
        service_ip = str(next(ipaddress.ip_network(SERVICE_CIDR).hosts()))
        api_sans = [
            "IP:127.0.0.1",
            f"IP:{service_ip}",
            f"IP:{self.address}",
            "DNS:localhost",
            "DNS:kubernetes",
        ]
        api_sans += [f"DNS:kubernetes.default.svc.{CLUSTER_DOMAIN}"]
        self._certificate("apiserver", "/CN=kube-apiserver", client=False, sans=api_sans)
        self._certificate("kubelet-serving", f"/CN={NODE_NAME}", client=False, sans=[f"IP:{self.address}"])
        users = {
            "admin": "/O=system:masters/CN=papr-k8s-admin",
            "apiserver-kubelet": "/O=system:masters/CN=kube-apiserver-kubelet-client",
            "controller-manager": "/CN=system:kube-controller-manager",
            "scheduler": "/CN=system:kube-scheduler",
            "kubelet": f"/O=system:nodes/CN=system:node:{NODE_NAME}",
            "kube-proxy": "/CN=system:kube-proxy",
        }
        for user, subject in users.items():
            self._certificate(user, subject, client=True)
            if user != "apiserver-kubelet":
                self._write_kubeconfig(self.state_dir / f"{user}.kubeconfig", user)
        self._private_key(self.pki / "service-account.key")
        self._openssl(
            "pkey",
            "-in",
            str(self.pki / "service-account.key"),
            "-pubout",
            "-out",
            str(self.pki / "service-account.pub"),
        )

    def _https_ok(self, port: int, path: str) -> bool:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE if port != self.ports.apiserver else ssl.CERT_REQUIRED
        with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", context=context, timeout=5) as reply:  # noqa: S310 - our URL
            return reply.status == 200

    def api_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        context.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        return context

    def api_get(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.api_url}{path}", context=self.api_context(), timeout=10) as reply:  # noqa: S310 - our URL
            return json.load(reply)

    def _start_etcd(self) -> None:
        client = f"http://127.0.0.1:{self.ports.etcd_client}"
        process = self._spawn(
            "etcd",
            [
                "etcd", "--name", NODE_NAME, "--data-dir", str(self.state_dir / "etcd"),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", f"http://127.0.0.1:{self.ports.etcd_peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.ports.etcd_peer}",
                "--initial-cluster", f"{NODE_NAME}=http://127.0.0.1:{self.ports.etcd_peer}",
                "--listen-metrics-urls", "", "--log-level", "warn",
            ],
        )  # fmt: skip

        def healthy() -> bool:
            with urllib.request.urlopen(f"{client}/health", timeout=3) as reply:  # noqa: S310 - our URL
                return json.load(reply).get("health") == "true"

        wait_until("etcd", healthy, 60, process)

    def _start_containerd(self) -> None:
        state = self.state_dir / "run" / "containerd-state"
        config = f"""version = 2
root = "{self.state_dir / "containerd"}"
state = "{state}"
[grpc]
  address = "{self.containerd_socket}"
[plugins."io.containerd.internal.v1.opt"]
  path = "{self.state_dir / "containerd-opt"}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # Root here has no CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{shutil.which("runc") or "/usr/sbin/runc"}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{self.state_dir / "cni" / "net.d"}"
"""
        path = self.state_dir / "containerd.toml"
        path.write_text(config)
        process = self._spawn("containerd", ["containerd", "--config", str(path)])
        wait_until("containerd", lambda: run(self._ctr("version"), check=False).returncode == 0, 60, process)

    def _ctr(self, *args: str) -> list[str]:
        return ["ctr", "--address", str(self.containerd_socket), "--namespace", "k8s.io", *args]

    def import_image(self, image: str) -> float:
        """Copy a podman image into containerd's k8s.io namespace under the same name."""
        started = time.monotonic()
        env = _podman_environment()
        with tempfile.TemporaryDirectory(prefix="papr-k8s-image-", dir="/var/tmp") as folder:
            archive = Path(folder) / "image.tar"
            subprocess.run(
                ["podman", "save", "--format", "oci-archive", "--output", str(archive), image],
                check=True, capture_output=True, env=env, timeout=600,
            )  # fmt: skip
            # Without --base-name an OCI archive whose ref is a full name imports unnamed.
            repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
            run(self._ctr("images", "import", "--base-name", repository, str(archive)), timeout=600)
        names = run(self._ctr("images", "ls", "-q")).stdout.split()
        if image not in names:
            raise RuntimeError(f"{image} is not in containerd after the import (it has: {names})")
        return time.monotonic() - started

    def kill_container(self, container_id: str, check: bool = True) -> None:
        """SIGKILL a container's processes, as a crash would: the kubelet sees it exit and restarts
        it (deleting its pod would not do: the kubelet still stops the containers gracefully)."""
        run(self._ctr("tasks", "kill", "--signal", "SIGKILL", container_id), check=check)

    def tag_image(self, image: str, tag: str) -> None:
        """A second name for an image containerd has (a release to a 'new' image without a build)."""
        run(self._ctr("images", "tag", "--force", image, tag))

    def _import_pause_image(self) -> None:
        env = _podman_environment()
        if subprocess.run(["podman", "image", "exists", PAUSE_IMAGE], env=env, check=False).returncode != 0:
            with tempfile.TemporaryDirectory(prefix="papr-k8s-pause-", dir="/var/tmp") as context:
                shutil.copy(self.binary("pause"), Path(context) / "pause")
                Path(context, "Containerfile").write_text(
                    'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
                )
                subprocess.run(
                    ["podman", "build", "--quiet", "--tag", PAUSE_IMAGE, context],
                    check=True, capture_output=True, env=env, timeout=300,
                )  # fmt: skip
        self.import_image(PAUSE_IMAGE)

    def _start_network(self) -> None:
        """The pod bridge (created here so the DNS server can bind its address before any pod),
        the CNI configuration, and dnsmasq as the cluster DNS server."""
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
        run(["ip", "addr", "add", f"{BRIDGE_ADDRESS}/{POD_CIDR.prefixlen}", "dev", BRIDGE])
        run(["ip", "link", "set", BRIDGE, "up"])
        conflist = {
            "cniVersion": "0.4.0",
            "name": CNI_NETWORK,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": str(POD_CIDR), "gateway": BRIDGE_ADDRESS}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.state_dir / "cni" / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }
        (self.state_dir / "cni" / "net.d" / "10-papr-k8s.conflist").write_text(json.dumps(conflist, indent=2))
        self._spawn(
            "dnsmasq",
            [
                "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                "--no-dhcp-interface=" + BRIDGE,
                "--bind-interfaces", f"--listen-address={BRIDGE_ADDRESS}", "--except-interface=lo",
                f"--hostsdir={self.state_dir / 'dns'}", f"--local=/{CLUSTER_DOMAIN}/", "--user=root",
                f"--pid-file={self.state_dir / 'run' / 'dnsmasq.pid'}",
            ],
        )  # fmt: skip

    def _start_apiserver(self) -> None:
        pki = self.pki
        process = self._spawn(
            "kube-apiserver",
            [
                self.binary("kube-apiserver"),
                "--bind-address=127.0.0.1", f"--secure-port={self.ports.apiserver}", "--insecure-port=0",
                f"--advertise-address={self.address}",
                f"--etcd-servers=http://127.0.0.1:{self.ports.etcd_client}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet.key'}",
                f"--kubelet-certificate-authority={pki / 'ca.crt'}",
                f"--service-account-key-file={pki / 'service-account.pub'}",
                f"--service-account-signing-key-file={pki / 'service-account.key'}",
                f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
                "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=false", "--profiling=false",
            ],
        )  # fmt: skip
        wait_until(
            "kube-apiserver /readyz", lambda: self._https_ok(self.ports.apiserver, "/readyz"), 90, process
        )

    def _start_controllers(self) -> None:
        pki = self.pki
        manager = self._spawn(
            "kube-controller-manager",
            [
                self.binary("kube-controller-manager"),
                f"--kubeconfig={self.state_dir / 'controller-manager.kubeconfig'}",
                f"--authentication-kubeconfig={self.state_dir / 'controller-manager.kubeconfig'}",
                f"--authorization-kubeconfig={self.state_dir / 'controller-manager.kubeconfig'}",
                "--bind-address=127.0.0.1", f"--secure-port={self.ports.controller_manager}", "--port=0",
                "--leader-elect=false", "--use-service-account-credentials",
                f"--service-account-private-key-file={pki / 'service-account.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--profiling=false",
            ],
        )  # fmt: skip
        scheduler = self._spawn(
            "kube-scheduler",
            [
                self.binary("kube-scheduler"),
                f"--kubeconfig={self.state_dir / 'scheduler.kubeconfig'}",
                f"--authentication-kubeconfig={self.state_dir / 'scheduler.kubeconfig'}",
                f"--authorization-kubeconfig={self.state_dir / 'scheduler.kubeconfig'}",
                "--bind-address=127.0.0.1", f"--secure-port={self.ports.scheduler}", "--port=0",
                "--leader-elect=false", "--profiling=false",
            ],
        )  # fmt: skip
        wait_until(
            "kube-controller-manager",
            lambda: self._https_ok(self.ports.controller_manager, "/healthz"),
            60,
            manager,
        )
        wait_until("kube-scheduler", lambda: self._https_ok(self.ports.scheduler, "/healthz"), 60, scheduler)

    def _start_kubelet(self) -> None:
        pki = self.pki
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": self.address,
            "port": self.ports.kubelet,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": self.ports.kubelet_healthz,
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(pki / "ca.crt")},
            },
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(pki / "kubelet-serving.crt"),
            "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
            "cgroupDriver": "cgroupfs",
            "failSwapOn": False,
            "podCIDR": str(POD_CIDR),
            "clusterDomain": CLUSTER_DOMAIN,
            "clusterDNS": [BRIDGE_ADDRESS],
            "resolvConf": str(self._pod_resolv_conf()),
            "makeIPTablesUtilChains": False,
            # The host's disk is shared with everything else here: never evict the test pods.
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
            },
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": False,
        }
        config_path = self.state_dir / "kubelet.json"
        config_path.write_text(json.dumps(config, indent=2))
        socket_url = f"unix://{self.containerd_socket}"
        started = time.time()
        process = self._spawn(
            "kubelet",
            [
                self.binary("kubelet"),
                f"--config={config_path}", f"--kubeconfig={self.state_dir / 'kubelet.kubeconfig'}",
                "--container-runtime=remote", f"--container-runtime-endpoint={socket_url}",
                f"--image-service-endpoint={socket_url}",
                f"--root-dir={self.state_dir / 'kubelet'}", f"--cert-dir={self.state_dir / 'kubelet-pki'}",
                f"--hostname-override={NODE_NAME}", f"--node-ip={self.address}",
                f"--pod-infra-container-image={PAUSE_IMAGE}",
            ],
        )  # fmt: skip

        def ready() -> bool:
            # A Ready condition written by this kubelet (not a stale one from an old etcd).
            node = self.api_get(f"/api/v1/nodes/{NODE_NAME}")
            for condition in node["status"]["conditions"]:
                if condition["type"] == "Ready" and condition["status"] == "True":
                    heartbeat = condition["lastHeartbeatTime"]
                    return calendar.timegm(time.strptime(heartbeat, "%Y-%m-%dT%H:%M:%SZ")) >= int(started) - 1
            return False

        wait_until("node Ready", ready, WAIT_READY_SECONDS, process)

    def _pod_resolv_conf(self) -> Path:
        """The base resolv.conf kubelet gives pods (it adds the cluster DNS server and search):
        empty, so pods ask only the cluster DNS (nothing outside the cluster is reachable here)."""
        path = self.state_dir / "pod-resolv.conf"
        path.write_text("")
        return path

    def _start_kube_proxy(self) -> None:
        process = self._spawn(
            "kube-proxy",
            [
                self.binary("kube-proxy"),
                f"--kubeconfig={self.state_dir / 'kube-proxy.kubeconfig'}",
                "--proxy-mode=iptables", f"--hostname-override={NODE_NAME}", f"--cluster-cidr={POD_CIDR}",
                f"--healthz-bind-address=127.0.0.1:{self.ports.proxy_healthz}",
                f"--metrics-bind-address=127.0.0.1:{self.ports.proxy_metrics}",
                # Leave the host's conntrack settings alone.
                "--conntrack-max-per-core=0", "--conntrack-tcp-timeout-established=0",
                "--conntrack-tcp-timeout-close-wait=0",
            ],
        )  # fmt: skip

        def healthy() -> bool:
            with urllib.request.urlopen(  # noqa: S310 - our URL
                f"http://127.0.0.1:{self.ports.proxy_healthz}/healthz", timeout=3
            ) as reply:
                return reply.status == 200

        wait_until("kube-proxy", healthy, 60, process)
        self.dns = ServiceDns(self.api_url, self.api_context(), self.state_dir / "dns" / "services")
        self.dns.start()

    # --- down --------------------------------------------------------------------------------
    def down(self, release_lock: bool = True) -> dict[str, float]:
        """Stop everything this node started and put the host back (idempotent; also after a crash);
        returns seconds per step."""
        timings: dict[str, float] = {}

        def timed(name: str, step: Callable[[], None]) -> None:
            begun = time.monotonic()
            step()
            timings[name] = round(time.monotonic() - begun, 1)

        if self.dns is not None:
            self.dns.stopping.set()
        if self.state_dir.exists():
            timed("pods", self._remove_pods)
            control_plane = (
                "kube-proxy",
                "kubelet",
                "kube-scheduler",
                "kube-controller-manager",
                "kube-apiserver",
            )
            # 5 s each: with its clients gone, the apiserver still took 20 s to stop in some runs
            # (2-3.5 s in others); a node being removed has nothing to save.
            timed("control_plane", lambda: [self._stop(name, grace=5) for name in control_plane])
            timed("containers", self._stop_containers)
            timed("runtime", lambda: [self._stop(name) for name in ("containerd", "dnsmasq", "etcd")])
            timed("host", self._clean_host)
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if release_lock and self._lock is not None:
            os.close(self._lock)
            self._lock = None
        return timings

    def leftovers(self, host_state: dict) -> list[str]:
        """What down() failed to put back, compared with `host_state` (taken before up())."""
        found = [f"process {name} (pid {pid})" for name, pid in self._started_pids.items() if _alive(pid)]
        found += [
            f"path {path}"
            for path, existed in host_state["paths"].items()
            if not existed and os.path.lexists(path)
        ]
        found += [
            f"sysctl {name}={self._sysctl(name)} (was {value})"
            for name, value in host_state["sysctls"].items()
            if self._sysctl(name) != value
        ]
        if run(["ip", "link", "show", BRIDGE], check=False).returncode == 0:
            found.append(f"bridge {BRIDGE}")
        found += [f"network namespace {path.name}" for path in Path("/var/run/netns").glob("cni-*")]
        for table in ("nat", "filter"):
            chains = run(["iptables", "-t", table, "-S"], check=False).stdout.split("\n")
            found += [f"iptables {table} {line}" for line in chains if "KUBE-" in line or CNI_NETWORK in line]
        found += [f"mount {mount}" for mount in _mounts_under(self.state_dir)]
        if self.state_dir.exists():
            found.append(f"state folder {self.state_dir}")
        return found

    def host_state(self) -> dict:
        """The host before up(): the paths kubelet writes and the sysctls it sets."""
        return {
            "paths": {path: os.path.lexists(path) for path in HOST_PATHS},
            "sysctls": {name: self._sysctl(name) for name in SYSCTLS},
        }

    def _kubectl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return run(
            [self.binary("kubectl"), f"--kubeconfig={self.kubeconfig}", *args], check=False, timeout=timeout
        )

    def _remove_pods(self) -> None:
        """Let kubelet remove the pods itself (it tears their networks down through CNI), their
        containers SIGKILLed: a node being removed owes them no preStop hook or grace period."""
        if self.bin_dir is None or not self.kubeconfig.exists() or not self._pid_alive("kubelet"):
            return
        self._kubectl("delete", "deployments,replicasets,statefulsets,daemonsets,jobs", "--all", "-A",
                      "--wait=false")  # fmt: skip
        self._kubectl("delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=false")

        def pods_gone() -> bool:
            # Every round: a container kubelet restarted before it saw the deletion dies too.
            self._kill_workload_containers()
            return not self._kubectl("get", "pods", "-A", "-o", "name").stdout.strip() and not list(
                Path("/var/run/netns").glob("cni-*")
            )

        with contextlib.suppress(TimeoutError):
            wait_until("pods gone", pods_gone, 60)

    def _kill_workload_containers(self) -> None:
        """SIGKILL the running containers of the pods, not their sandboxes (kubelet removes those
        through CNI)."""

        def rows(*command: str) -> list[list[str]]:  # ctr's table without its header
            return [line.split() for line in run(self._ctr(*command), check=False).stdout.splitlines()[1:]]

        workloads = {row[0] for row in rows("containers", "ls") if len(row) > 1 and row[1] != PAUSE_IMAGE}
        running = {row[0] for row in rows("tasks", "ls") if len(row) > 2 and row[2] == "RUNNING"}
        for container_id in workloads & running:
            self.kill_container(container_id, check=False)  # it may have ended since the listing

    def _pid_alive(self, name: str) -> bool:
        pid = self._pid(name)
        return pid is not None and _alive(pid)

    def _pid(self, name: str) -> int | None:
        path = self.state_dir / "pids" / f"{name}.pid"
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(path.read_text())
        return None

    def _stop(self, name: str, grace: float = 20) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        pid = self._pid(name)
        if pid is None or not _alive(pid):
            return
        expected = {"dnsmasq": "dnsmasq", "etcd": "etcd", "containerd": "containerd"}.get(name, name)
        if expected not in _cmdline(pid):
            return  # the pid was reused by something that is not ours
        os.kill(pid, signal.SIGTERM)
        try:
            wait_until(f"{name} stops", lambda: not _alive(pid), grace)
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            wait_until(f"{name} killed", lambda: not _alive(pid), 10)
        process = self.processes.pop(name, None)
        if process is not None:
            process.wait(timeout=5)

    def _stop_containers(self) -> None:
        """Whatever kubelet did not stop: kill the tasks, then the shims (by their -address)."""
        if self._pid_alive("containerd"):
            tasks = run(self._ctr("tasks", "ls", "-q"), check=False).stdout.split()
            for task in tasks:
                self.kill_container(task, check=False)
            for task in tasks:
                with contextlib.suppress(TimeoutError):
                    wait_until(
                        "task stops",
                        lambda t=task: run(self._ctr("tasks", "delete", t), check=False).returncode == 0,
                        10,
                    )
        marker = str(self.containerd_socket)
        for pid in _pids():
            if "containerd-shim" in _cmdline(pid) and marker in _cmdline(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _clean_host(self) -> None:
        host_state_file = self.state_dir / "host-state.json"
        host_state = json.loads(host_state_file.read_text()) if host_state_file.exists() else {}
        # Mounts under our folder first (kubelet's bind of its root dir, pod volumes, overlay rootfs).
        for mount in sorted(
            _mounts_under(self.state_dir) + _mounts_under(Path("/run/containerd")), reverse=True
        ):
            run(["umount", "-l", mount], check=False)
        for namespace in Path("/var/run/netns").glob("cni-*"):
            run(["umount", str(namespace)], check=False)
            with contextlib.suppress(OSError):
                namespace.unlink()
        for path, existed in host_state.get("paths", {}).items():
            if not existed:
                shutil.rmtree(path, ignore_errors=True)
        self._clean_iptables()
        run(["ip", "link", "delete", BRIDGE], check=False)
        for name, value in host_state.get("sysctls", {}).items():
            run(["sysctl", "-q", "-w", f"{name}={value}"], check=False)
        _remove_cgroups("kubepods")

    def _clean_iptables(self) -> None:
        """kube-proxy's KUBE-* chains and the bridge plugin's CNI-* chains of our network."""
        if self.bin_dir is not None and Path(self.binary("kube-proxy")).exists():
            run([self.binary("kube-proxy"), "--cleanup"], check=False)
        for table in ("nat", "filter", "mangle"):
            rules = run(["iptables", "-t", table, "-S"], check=False).stdout.splitlines()
            ours = {
                chain
                for line in rules
                if line.startswith("-N ")
                for chain in [line.split()[1]]
                if chain.startswith("KUBE-")
                or (chain.startswith("CNI-") and self._cni_chain_is_ours(rules, chain))
            }
            for line in rules:
                words = line.split()
                if (
                    words[0] == "-A"
                    and ("-j" in words and words[words.index("-j") + 1] in ours)
                    and words[1] not in ours
                ):
                    run(["iptables", "-t", table, "-D", *words[1:]], check=False)
            for chain in ours:
                run(["iptables", "-t", table, "-F", chain], check=False)
            for chain in ours:
                run(["iptables", "-t", table, "-X", chain], check=False)

    @staticmethod
    def _cni_chain_is_ours(rules: list[str], chain: str) -> bool:
        """The bridge plugin comments its rules with the network name."""
        return any(f"-A {chain} " in line and f'name: \\"{CNI_NETWORK}\\"' in line for line in rules) or any(
            f"-j {chain}" in line and CNI_NETWORK in line for line in rules
        )


def _podman_environment() -> dict[str, str]:
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env:
        conf = run([str(REPO_ROOT / "scripts" / "podman-conf.sh")]).stdout.strip()
        env["CONTAINERS_CONF"] = conf
    return env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return status.read_text().split(") ", 1)[1][0] != "Z"
    return False


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return ""


def _pids() -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    mounts = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        target = line.split()[1].encode().decode("unicode_escape")
        if target == str(root) or target.startswith(prefix):
            mounts.append(target)
    return mounts


def _remove_cgroups(name: str) -> None:
    """kubelet's cgroupfs hierarchy (/sys/fs/cgroup/<controller>/kubepods/...): leaves first."""
    for controller in Path("/sys/fs/cgroup").iterdir():
        top = controller / name
        if not top.is_dir():
            continue
        for folder in sorted(
            (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["up", "down", "build"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument(
        "--import-image", action="append", default=[], help="podman image to copy into containerd"
    )
    args = parser.parse_args()
    if args.action == "build":
        print(build_binaries())
        return 0
    node = SingleNode(args.state_dir)
    if args.action == "down":
        node.bin_dir = build_binaries() if BUILD_SCRIPT.exists() else None
        node.down()
        return 0
    node.up()
    for image in args.import_image:
        say(f"imported {image} in {node.import_image(image):.1f} s")
    print(node.kubeconfig)
    # The Service DNS feed lives in this process: stay in the foreground until interrupted.
    say("running; Ctrl-C stops the node")
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    node.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
