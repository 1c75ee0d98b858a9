"""Run the collection's modules the way Ansible runs a task's module, without a playbook around it.

Ansible runs each task's module as a new Python process that reads its arguments (the task's, plus
the `_ansible_*` ones: check mode, diff, verbosity...), prints one JSON result and exits. Most of that
process's time is imports (ansible.module_utils.basic, the Azure SDK), and ansible-playbook adds its
own start-up to every run: the module tests, which make hundreds of runs, spent most of their CPU
there.

`ModuleHost` starts one server process per test session (`python -m tests.module_host`) that
imports each module once and forks a child per call: the child is a fresh process (module state,
environment, working directory and file descriptors its own, as under Ansible), its imports already
done. It sets the environment it is given, runs the module's `main()` with the arguments Ansible
would pass, and exits; the server sends back its exit code, stdout and stderr.

What this does not exercise is the controller (templating, blocks and roles, callbacks, -v
output): the tests that check those run a playbook. The Azure token cache is a directory
(PAPR_AZURE_CACHE_DIR), so the tasks of one run share it here as they do under ansible-playbook.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COLLECTION_PATH = REPO / "collections"  # collections/ansible_collections/papr/memory -> the repository
MODULE_TIMEOUT_SECONDS = 300  # as the playbook runs' subprocess timeout
# Task keywords a module-host run honours besides the module: `register` only names the result (no
# later task can template it: templates go through a playbook).
MODULE_HOST_TASK_KEYWORDS = ("name", "ignore_errors", "register")


@dataclass(frozen=True)
class ModuleExit:
    rc: int
    stdout: str
    stderr: str


def module_import_path(fqcn: str) -> str:
    namespace, collection, name = fqcn.split(".")
    return f"ansible_collections.{namespace}.{collection}.plugins.modules.{name}"


def ansible_arguments(args: dict, *, check: bool, diff: bool, verbosity: int, remote_tmp: str) -> dict:
    """The task's arguments plus the internal ones ansible-playbook sends every module."""
    return {
        **args,
        "_ansible_check_mode": check,
        "_ansible_diff": diff,
        "_ansible_verbosity": verbosity,
        "_ansible_no_log": False,
        "_ansible_debug": False,
        "_ansible_keep_remote_files": False,
        "_ansible_remote_tmp": remote_tmp,
        "_ansible_tmpdir": None,
        "_ansible_ignore_unknown_opts": False,
    }


def task_result(exit_: ModuleExit) -> dict:
    """The task result Ansible makes of a module's exit: its JSON (lines around it ignored), or the
    failure Ansible reports when there is none (a traceback, a crash)."""
    from ansible.module_utils.json_utils import _filter_non_json_lines

    try:
        output, _ = _filter_non_json_lines(exit_.stdout, objects_only=True)
        result = json.loads(output)
    except ValueError:
        return {
            "failed": True,
            "msg": "Module result deserialization failed. See stdout/stderr for the returned output.",
            "module_stdout": exit_.stdout,
            "module_stderr": exit_.stderr,
            "rc": exit_.rc,
        }
    result.setdefault("changed", False)
    # Ansible 2.19+ modules send each warning as a structure; the controller shows its message.
    if result.get("warnings"):
        result["warnings"] = [_message_of(warning) for warning in result["warnings"]]
    return result


def _message_of(warning) -> str:
    if isinstance(warning, dict):
        return warning.get("event", warning).get("msg", json.dumps(warning))
    return str(warning)


# ---------------------------------------------------------------- the server (its own process)


def _run_child(module, arguments: dict, env: dict, cwd: str, out_path: str, err_path: str) -> None:
    """In the forked child: become the module's process, run it, never return."""
    code = 1
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # the server's requests are not the module's input
        os.close(devnull)
        for fd, path in ((1, out_path), (2, err_path)):
            target = os.open(path, os.O_WRONLY | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the process ends with the module
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        signal.alarm(MODULE_TIMEOUT_SECONDS)
        from ansible.module_utils.testing import patch_module_args

        with patch_module_args(arguments):
            module.main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # noqa: BLE001 - what Ansible reports as MODULE FAILURE: the traceback on stderr
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - nothing left to report it to
                pass
        os._exit(code)


def serve() -> None:
    """Requests on stdin, one JSON line each ({module, arguments, env, cwd}); a JSON reply on stdout."""
    # What a module can import under Ansible: the collection and the venv, not this checkout's folders.
    sys.path[:] = [str(COLLECTION_PATH)] + [path for path in sys.path if path not in ("", str(REPO))]
    import ansible.module_utils.basic  # noqa: F401 - imported once, before any fork
    import ansible.module_utils.testing  # noqa: F401

    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # a module imported here that prints must not corrupt the replies
    for line in sys.stdin:
        request = json.loads(line)
        module = importlib.import_module(module_import_path(request["module"]))
        with tempfile.TemporaryDirectory(prefix="module-host-") as scratch:
            out_path, err_path = os.path.join(scratch, "stdout"), os.path.join(scratch, "stderr")
            for path in (out_path, err_path):
                open(path, "w").close()  # noqa: SIM115
            pid = os.fork()
            if pid == 0:
                _run_child(module, request["arguments"], request["env"], request["cwd"], out_path, err_path)
            _, status = os.waitpid(pid, 0)
            rc = os.waitstatus_to_exitcode(status)
            with open(out_path, errors="replace") as out, open(err_path, errors="replace") as err:
                reply = {"rc": rc, "stdout": out.read(), "stderr": err.read()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


# ---------------------------------------------------------------- the client (the test process)


class ModuleHost:
    """The client side: one server process, calls one at a time (a lock: fixtures may share it)."""

    def __init__(self):
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.module_host"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()

    def run(self, fqcn: str, arguments: dict, *, env: dict, cwd: Path) -> ModuleExit:
        request = {"module": fqcn, "arguments": arguments, "env": env, "cwd": str(cwd)}
        with self._lock:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the module host exited (rc={self._process.poll()}) running {fqcn}")
        return ModuleExit(**json.loads(line))

    def run_task(self, fqcn: str, args: dict, *, check: bool, diff: bool, env: dict, work_dir: Path):
        """One task as ansible-playbook would run it on localhost: (the module's exit, the task result
        the json callback shows). `work_dir` holds the module's remote tmp."""
        remote_tmp = work_dir / "module-tmp"
        remote_tmp.mkdir(exist_ok=True)
        arguments = ansible_arguments(args, check=check, diff=diff, verbosity=0, remote_tmp=str(remote_tmp))
        exit_ = self.run(fqcn, arguments, env=env, cwd=REPO)
        return exit_, {"action": fqcn, **task_result(exit_)}  # the json callback names the action

    def close(self) -> None:
        self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


@pytest.fixture(scope="session")
def module_host():
    """One module host per test session (per xdist worker)."""
    host = ModuleHost()
    yield host
    host.close()


if __name__ == "__main__":
    serve()
