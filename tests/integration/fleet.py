# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fleet of SSH test hosts on this one machine, for integration tests and benchmarks.

Each host is a sandbox made with `linuxns.pidns.sandbox` (namespaces pid, mnt, uts, ipc; not net, so
its sshd listens on 127.0.0.1:<port> in the machine's network namespace; hostname = host name), with
an sshd started inside it as a detached workload by `linuxns.pidns.sandbox_exec`. Every host thus
has its own PID tree and hostname, and Ansible reaches it over real SSH. Inside a host the
collection's state directory is a fresh empty tmpfs, so modules run over SSH manage that host's own
sandboxes, nested under the host's PID namespace.

Everything is made per run in one tmp dir: client key, host keys, known_hosts (strict checking),
authorized_keys, sshd configs and logs, inventory, ssh ControlMaster sockets. `Fleet.close()`
removes the hosts' sandboxes by name (which kills their sshd), stops the ControlMasters by socket,
and deletes the tmp dir. Traffic goes only to 127.0.0.1.

    with start_fleet(4) as fleet:
        proc = fleet.ansible("all", "ansible.builtin.ping")
        proc = fleet.playbook(REPO / "playbooks" / "report.yml", "-f", "4")
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from ansible_cli import REPO, TARGET_PYTHON, ansible_env  # noqa: E402
from sandboxes import force_remove, pid_ns_of, state_of  # noqa: E402

SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
INITIAL_PID_NS = 4026531836
BIN = Path(sys.executable).parent

SSHD_CONFIG = """\
# per-run test sshd for {name} (linuxns.pidns fleet tests)
ListenAddress 127.0.0.1
HostKey {host_key}
AuthorizedKeysFile {authorized_keys}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
PrintMotd no
UseDNS no
X11Forwarding no
MaxStartups 200
MaxSessions 100
LogLevel {log_level}
Subsystem sftp {sftp_server}
"""


@dataclass
class Host:
    name: str  # inventory name == sandbox name == hostname inside
    port: int
    host_key: Path
    config: Path
    log: Path
    supervisor_pid: int | None = None
    pid_ns: int | None = None
    stopped: bool = False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ssh_banner(port: int, timeout: float = 1.0) -> bool:
    """True when something on 127.0.0.1:port answers with an SSH banner."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def become_method() -> str:
    """sudo when installed (what the playbooks' become: true uses by default), else su: root su-ing
    to root asks no password."""
    return "sudo" if shutil.which("sudo") else "su"


@dataclass
class Fleet:
    root: Path
    hosts: list
    key: Path
    inventory: Path
    control_dir: Path
    run_id: str
    _closed: bool = field(default=False, repr=False)

    # -- names ------------------------------------------------------------------------------------
    @property
    def names(self) -> list:
        return [host.name for host in self.hosts]

    def host(self, name: str) -> Host:
        return next(host for host in self.hosts if host.name == name)

    # -- running ansible against the fleet ------------------------------------------------------------
    def env(self, pipelining: bool = True, **extra: str) -> dict:
        env = ansible_env(
            ANSIBLE_INVENTORY=str(self.inventory),
            ANSIBLE_PIPELINING="True" if pipelining else "False",
            ANSIBLE_SSH_CONTROL_PATH_DIR=str(self.control_dir),
            ANSIBLE_HOST_KEY_CHECKING="True",
            ANSIBLE_TIMEOUT="15",
            ANSIBLE_SSH_RETRIES="0",
            ANSIBLE_GATHERING="explicit",
        )
        env.pop("ANSIBLE_PYTHON_INTERPRETER", None)  # the inventory says it per host
        env.update(extra)
        return env

    def ansible(self, pattern: str, module: str, args: dict | str | None = None, *options: str,
                pipelining: bool = True, env: dict | None = None, timeout: float = 300
                ) -> subprocess.CompletedProcess:
        """`ansible <pattern> -m <module>` over SSH; the caller checks returncode and output."""
        cmd = [str(BIN / "ansible"), pattern, "-i", str(self.inventory), "-m", module, *options]
        if args:
            cmd += ["-a", args if isinstance(args, str) else json.dumps(args)]
        run_env = self.env(pipelining)
        run_env.update(env or {})
        return subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def ansible_json(self, pattern: str, module: str, args: dict | str | None = None, *options: str,
                     **kwargs) -> tuple:
        """Run ad hoc with the tests' raw_results callback: (CompletedProcess, {host: result}).
        Each result has `_status`: ok, failed, skipped or unreachable."""
        env = raw_results_env()
        env.update(kwargs.pop("env", None) or {})
        proc = self.ansible(pattern, module, args, *options, env=env, **kwargs)
        return proc, results_by_host(proc.stdout)

    def playbook(self, playbook: str | Path, *options: str, pipelining: bool = True,
                 env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        cmd = [str(BIN / "ansible-playbook"), str(playbook), "-i", str(self.inventory), *options]
        run_env = self.env(pipelining)
        run_env.update(env or {})
        return subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def ssh(self, name: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Plain OpenSSH to one host (no Ansible), with the run's key and known_hosts."""
        host = self.host(name)
        cmd = ["ssh", *self.ssh_options(), "-p", str(host.port), "root@127.0.0.1", "--", *argv]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)

    def ssh_options(self) -> list:
        return ["-F", "/dev/null", "-i", str(self.key), "-o", "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=%s" % (self.root / "known_hosts"),
                "-o", "ConnectTimeout=10"]

    # -- stopping -----------------------------------------------------------------------------------
    def stop_host(self, name: str) -> None:
        """Take one host down: remove its sandbox by name (its sshd and everything in it die)."""
        host = self.host(name)
        remove_sandboxes([host.name])
        force_remove(host.name)
        host.stopped = True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            remove_sandboxes([host.name for host in self.hosts if state_of(host.name) is not None])
        finally:
            for host in self.hosts:
                force_remove(host.name)
            stop_control_masters(self.control_dir)
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def raw_results_env() -> dict:
    return {"ANSIBLE_STDOUT_CALLBACK": "raw_results", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "callback_plugins")}


def results_by_host(stdout: str) -> dict:
    """Last result per host from raw_results JSON lines, with its status under `_status`."""
    found = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            document = json.loads(line)
        except ValueError:
            continue
        result = dict(document.get("result") or {})
        result["_status"] = document.get("status")
        found[document.get("host")] = result
    return found


def stop_control_masters(control_dir: Path) -> None:
    """Ask each ssh ControlMaster of this run to exit, by its socket (never by a process pattern)."""
    if not control_dir.is_dir():
        return
    for sock in control_dir.iterdir():
        subprocess.run(["ssh", "-o", "ControlPath=%s" % sock, "-O", "exit", "fleet-host"],
                       capture_output=True, timeout=15, check=False, stdin=subprocess.DEVNULL)


# -- making and removing the hosts' sandboxes through the collection, locally, in parallel ------------
START_PLAYBOOK = """\
- name: Start fleet test hosts (sandbox + sshd inside)
  hosts: all
  gather_facts: false
  tasks:
    - name: Sandbox of the test host
      linuxns.pidns.sandbox:
        name: "{{ inventory_hostname }}"
        namespaces: [pid, mnt, uts, ipc]
        hostname: "{{ inventory_hostname }}"
        stop_timeout: 2
    - name: sshd inside it, detached
      linuxns.pidns.sandbox_exec:
        sandbox: "{{ inventory_hostname }}"
        argv: [%(sshd)s, -D, -e, -f, "{{ sshd_config }}", -p, "{{ sshd_port }}", -E, "{{ sshd_log }}"]
        detach: true
"""

STOP_PLAYBOOK = """\
- name: Remove fleet test hosts
  hosts: all
  gather_facts: false
  tasks:
    - name: Remove the test host's sandbox (its sshd and nested sandboxes die with it)
      linuxns.pidns.sandbox:
        name: "{{ inventory_hostname }}"
        state: absent
        stop_timeout: 2
"""


def _local_inventory(path: Path, hosts: dict) -> Path:
    """hosts: name -> vars. Local connection, one fork per host."""
    document = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": TARGET_PYTHON},
                        "hosts": hosts}}
    path.write_text(json.dumps(document, indent=1))
    return path


def _run_local(playbook_text: str, hosts: dict, workdir: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:6]
    playbook = workdir / ("local-%s.yml" % tag)
    playbook.write_text(playbook_text)
    inventory = _local_inventory(workdir / ("local-%s.json" % tag), hosts)
    cmd = [str(BIN / "ansible-playbook"), str(playbook), "-i", str(inventory), "-f", str(max(1, min(len(hosts), 16)))]
    try:
        return subprocess.run(cmd, env=ansible_env(), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    finally:
        playbook.unlink(missing_ok=True)
        inventory.unlink(missing_ok=True)


def remove_sandboxes(names: list) -> None:
    """Remove sandboxes by name through the collection (local connection, in parallel)."""
    if not names:
        return
    workdir = Path(tempfile.mkdtemp(prefix="pidns-fleet-rm-"))
    try:
        _run_local(STOP_PLAYBOOK, {name: {} for name in names}, workdir, timeout=120)
    except subprocess.TimeoutExpired:
        pass  # the callers force_remove by name afterwards
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=30)


def start_fleet(count: int, prefix: str = "fleet", *, log_level: str = "INFO", groups: dict | None = None,
                ready_timeout: float = 30) -> Fleet:
    """Start `count` SSH test hosts and write their inventory. Call .close() (or use `with`).

    groups: extra inventory groups -> list of host names (all hosts are also in group `fleet`).
    """
    if not os.access(SSHD, os.X_OK):
        raise RuntimeError("%s is missing: scripts/bootstrap.sh installs openssh-server" % SSHD)
    run_id = uuid.uuid4().hex[:6]
    root = Path(tempfile.mkdtemp(prefix="pidns-fleet-%s-" % run_id))
    os.chmod(root, 0o700)
    hosts = []
    fleet = Fleet(root=root, hosts=hosts, key=root / "id_ed25519", inventory=root / "inventory.json",
                  control_dir=root / "cp", run_id=run_id)
    try:
        fleet.control_dir.mkdir()
        (root / "hosts").mkdir()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        _keygen(fleet.key, "pidns-fleet-%s" % run_id)
        authorized_keys = root / "authorized_keys"
        authorized_keys.write_text(Path(str(fleet.key) + ".pub").read_text())
        known_hosts = []
        for index in range(count):
            name = "%s-%s-%d" % (prefix, run_id, index)
            folder = root / "hosts" / name
            folder.mkdir()
            host = Host(name=name, port=free_port(), host_key=folder / "ssh_host_ed25519_key",
                        config=folder / "sshd_config", log=folder / "sshd.log")
            _keygen(host.host_key, name)
            host.config.write_text(SSHD_CONFIG.format(
                name=name, host_key=host.host_key, authorized_keys=authorized_keys, log_level=log_level,
                sftp_server=SFTP_SERVER))
            check = subprocess.run([SSHD, "-t", "-f", str(host.config)], capture_output=True, text=True,
                                   timeout=30, check=False)
            if check.returncode != 0:
                raise RuntimeError("sshd -t rejects %s: %s" % (host.config, check.stderr))
            pub = Path(str(host.host_key) + ".pub").read_text().split()
            known_hosts.append("[127.0.0.1]:%d %s %s" % (host.port, pub[0], pub[1]))
            hosts.append(host)
        (root / "known_hosts").write_text("\n".join(known_hosts) + "\n")

        proc = _run_local(START_PLAYBOOK % {"sshd": SSHD}, {
            host.name: {"sshd_config": str(host.config), "sshd_port": host.port, "sshd_log": str(host.log)}
            for host in hosts}, root / "local", timeout=300)
        if proc.returncode != 0:
            raise RuntimeError("starting the fleet's sandboxes failed (rc=%d):\n%s\n%s"
                               % (proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
        deadline = time.monotonic() + ready_timeout
        for host in hosts:
            while not ssh_banner(host.port):
                if time.monotonic() > deadline:
                    log = host.log.read_text() if host.log.exists() else "(no log)"
                    raise RuntimeError("sshd of %s on 127.0.0.1:%d not up after %ss; log:\n%s"
                                       % (host.name, host.port, ready_timeout, log))
                time.sleep(0.05)
            state = state_of(host.name)
            host.supervisor_pid = state["supervisor"]["pid"]
            host.pid_ns = pid_ns_of(host.supervisor_pid)
        _write_inventory(fleet, groups or {})
        return fleet
    except BaseException:
        fleet.close()
        raise


def _write_inventory(fleet: Fleet, groups: dict) -> None:
    common_args = " ".join([
        "-o IdentitiesOnly=yes", "-o BatchMode=yes", "-o StrictHostKeyChecking=yes",
        "-o UserKnownHostsFile=%s" % (fleet.root / "known_hosts"), "-o ConnectTimeout=10",
        "-o ServerAliveInterval=5", "-o ServerAliveCountMax=3",
    ])
    document = {
        "all": {
            "vars": {
                "ansible_connection": "ssh",
                "ansible_host": "127.0.0.1",
                "ansible_user": "root",
                "ansible_ssh_private_key_file": str(fleet.key),
                "ansible_ssh_common_args": common_args,
                "ansible_python_interpreter": TARGET_PYTHON,
                "ansible_become_method": become_method(),
            },
            "children": {
                "fleet": {"hosts": {host.name: {"ansible_port": host.port} for host in fleet.hosts}},
            },
        },
    }
    for group, members in groups.items():
        document["all"]["children"][group] = {"hosts": {name: {} for name in members}}
    fleet.inventory.write_text(json.dumps(document, indent=1))
