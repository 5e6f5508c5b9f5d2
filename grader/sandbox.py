"""Isolation for the child, using what the machine offers (parent side, trusted).

The child's view of the machine is an allow-list. Modes, strongest first (the report names the
mode, and warns when it is not the strongest):
- ``bubblewrap``: ``bwrap`` builds the child's file system from nothing: the system folders (``/usr``,
  ``/etc``, ...) and the Python installation **read-only**, the harness's own modules read-only (the
  rest of the grader, its exercises and its tests are not there), the working folder and the
  artifacts folder writable, ``/tmp`` a folder of the working folder; as root, the program runs as a
  user id of its own. Nothing else exists: not the
  grader's checkout, not other gradings' folders, not the datasets. Its own PID, network, IPC, UTS
  and cgroup namespaces, no capabilities, a session of its own, and it dies with the grader.
- ``unprivileged-user``: no bubblewrap, the grader runs as root: the program runs as a user id of
  its own (new for each grading), which owns its working folder and nothing else, so it cannot change the grader, its virtualenv or
  anything of root's (it can read what every user may read); with ``unshare`` where it works, in PID
  and network namespaces of its own. Used only when an unprivileged user can run the grader's Python.
- ``process-group``: the child leads its own process group, killed as a whole at the end, and runs
  as the grader's own user: it can read and change what that user can. Used only when nothing
  stronger is available, or on request (``GRADER_ISOLATION=process-group``), always with a warning.
Independently, a cgroup (v1 or v2, where writable: grader/cgroups.py) caps memory (swap included) and the number of
processes and threads, and measures peak memory for the whole tree; the parent also watches the
program's own memory and stops it at the limit (the kernel alone lets a tree thrash at its limit
for minutes); ``ulimit -f`` (RLIMIT_FSIZE) caps the size of any file.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader import seccomp
from grader.cgroups import Cgroup, make_cgroup, tree_memory_bytes

NOBODY = 65534
# Each grading's program runs as a user id of its own, owning its two folders and nothing else: with
# one shared id (nobody), gradings could meet through what the kernel keeps per user (its keyring).
FIRST_UID, LAST_UID = 200_000, 2**31 - 2
# System folders the child may read (when they exist). Everything else on the machine is absent.
SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")
# Without a network, the child sees these instead of the machine's (its name, addresses, name servers).
NETWORK_FILES = {"/etc/hosts": "127.0.0.1 localhost grader\n::1 localhost\n", "/etc/hostname": "grader\n",
                 "/etc/resolv.conf": ""}
# Always: the machine's stable identity is not the child's (two gradings could tell they share a machine).
HOST_FILES = {"/etc/machine-id": "0" * 32 + "\n"}
HARNESS_ROOT = "/run/grader"  # where the harness's own modules appear in the bubblewrap child



def become(uid: int) -> list[str]:
    """setpriv's arguments that make the rest run as ``uid`` with no privileges left to regain."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
            "--bounding-set=-all", "--inh-caps=-all"]


@dataclass
class View:
    """What the child may see of the machine."""
    workdir: Path  # writable; the child's working directory and $HOME
    artifacts: Path  # writable; where the harness puts the model and the trace
    readable: list  # folders the child reads (the Python installation), read-only
    harness: dict  # path inside the child -> file or folder of the grader, read-only (bubblewrap)
    hide: list = field(default_factory=list)  # held-back folders that must not show inside what is readable
    network: bool = False
    links: dict = field(default_factory=dict)  # path inside the child -> what it leads to (bubblewrap only)

    @property
    def private_tmp(self) -> Path:
        return self.workdir / "tmp"


@functools.lru_cache(maxsize=1)
def bubblewrap_available() -> bool:
    if not shutil.which("bwrap"):
        return False
    try:
        probe = subprocess.run(["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                                *_system_binds(), "--proc", "/proc", "--dev", "/dev", "true"],
                               capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@functools.lru_cache(maxsize=1)
def nobody_can_run_python() -> bool:
    """Whether user nobody can start this Python (not when it lives in a folder only root may enter)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return False
    try:
        probe = subprocess.run([*become(NOBODY), sys.executable, "-I", "-c", "import numpy"], capture_output=True,
                               timeout=30, cwd="/")
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@functools.lru_cache(maxsize=1)
def namespaces_available() -> bool:
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        return False
    try:
        probe = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", "--mount", "--mount-proc", "--net",
                                "--ipc", "--uts", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /mnt 2>/dev/null ||"
                                " mount -t tmpfs none /tmp"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _system_binds() -> list[str]:
    out = []
    for name in SYSTEM:
        path = Path("/") / name
        if path.is_symlink():
            out += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            out += ["--ro-bind", str(path), str(path)]
    return out


@dataclass
class Sandbox:
    mode: str
    cgroup: Cgroup | None
    warnings: list = field(default_factory=list)
    max_file_bytes: int = 2**31
    uid: int = field(default_factory=lambda: secrets.randbelow(LAST_UID - FIRST_UID) + FIRST_UID)
    pass_fds: tuple = ()  # file descriptors the command needs inherited (bwrap's arguments)
    # without bubblewrap, as root, with namespaces: grader/confine.py builds a read-only private view
    confined: bool = False

    def started(self):
        """The command is running: the parent's copies of what it inherited are closed."""
        for fd in self.pass_fds:
            os.close(fd)
        self.pass_fds = ()

    def prepare(self, view: View):
        """Hand the writable folders to the user the program runs as (its own, when the grader is root)."""
        if self.mode == "process-group" or os.geteuid() != 0:
            return
        for top in (view.workdir, view.artifacts):
            os.chown(top, self.uid, self.uid)
            os.chmod(top, 0o711)  # bwrap, root without capabilities, must still enter it
            for root, dirs, files in os.walk(top):
                for name in dirs + files:
                    os.lchown(os.path.join(root, name), self.uid, self.uid)

    def command(self, argv: list[str], view: View) -> list[str]:
        """The command line that runs ``argv`` in this sandbox with ``view`` of the machine."""
        inner = list(argv)
        if self.mode == "bubblewrap":
            # bwrap reads its arguments from a pipe: its command line (the child's /proc/1/cmdline)
            # then names none of the machine's paths
            args, fds = _bwrap(view, self.cgroup), []
            keyring_off = seccomp.program()  # the kernel keyring outlives a grading: no way between two
            if keyring_off:
                rules, rules_write = os.pipe()
                os.write(rules_write, keyring_off)  # a few hundred bytes: within a pipe's buffer
                os.close(rules_write)
                args, fds = ["--seccomp", str(rules), *args], [rules]
            own = {**HOST_FILES, **({} if view.network else NETWORK_FILES)}
            if own:  # the machine's identity, names and addresses stay outside: the child's own files
                for dest, text in own.items():
                    if os.path.isfile(dest) and not os.path.islink(dest):
                        data, data_write = os.pipe()
                        os.write(data_write, text.encode())  # a few bytes: within a pipe's buffer
                        os.close(data_write)
                        args += ["--perms", "0644", "--ro-bind-data", str(data), dest]
                        fds.append(data)
            read, write = os.pipe()
            with os.fdopen(write, "wb") as w:
                w.write(b"".join(os.fsencode(a) + b"\0" for a in args))
            self.pass_fds = (read, *fds)
            inner = ["bwrap", "--args", str(read), "--", *(become(self.uid) if os.geteuid() == 0 else [])] + inner
        elif self.confined:
            spec = {"workdir": str(view.workdir), "artifacts": str(view.artifacts), "private_tmp": str(view.private_tmp),
                    "keep": [str(p) for p in outermost(view.readable)], "hide": [str(p) for p in paths_to_hide(view.hide)],
                    "harness": {k: str(v) for k, v in view.harness.items()},
                    "uid": self.uid if self.mode == "unprivileged-user" else None, "argv": inner,
                    "setpriv": os.path.realpath(shutil.which("setpriv") or "setpriv"),
                    "cgroup": {k: str(v) for k, v in (self.cgroup.dirs if self.cgroup else {}).items()},
                    "own_files": {**HOST_FILES, **({} if view.network else NETWORK_FILES)}}
            inner = ["setpriv", "--pdeathsig", "KILL", "unshare", "--pid", "--fork", "--kill-child", "--mount",
                     "--ipc", "--uts", "--mount-proc", *([] if view.network else ["--net"]), "--", sys.executable, "-I", "-m",
                     "grader.confine", json.dumps(spec)]
        elif self.mode == "unprivileged-user":
            inner = become(self.uid) + inner
        join = self.cgroup.join_command() if self.cgroup is not None else ""
        # The shell joins the cgroup and sets the file-size limit (ulimit -f counts 512-byte blocks),
        # then becomes the rest: no preexec_fn, which is unsafe while the grader runs threads.
        return ["sh", "-c", f'{join} ulimit -f {self.max_file_bytes // 512} && exec "$@"', "sh", *inner]

    def memory_in_use(self, pid: int, beside: Path | None = None) -> int:
        """The program's own memory now: from the cgroup, else summed over its processes. ``beside``: a
        folder of the grading's on a tmpfs, whose files the cgroup counts as shared pages: left out of
        them, each file once (however many links name it) and never more than the shared pages hold, so
        that no file there hides the program's anonymous memory."""
        parts = self.cgroup.own_memory_parts() if self.cgroup is not None else None
        if parts is None:
            return tree_memory_bytes(pid)
        anon, shared = parts
        if beside is not None:
            from grader.workfolders import file_bytes

            shared -= min(file_bytes(beside), shared)
        return anon + shared

    def close(self):
        if self.cgroup is not None:
            self.cgroup.kill_all()
            self.cgroup.remove()


def _sys_view(cgroup: "Cgroup | None") -> list[str]:
    """What the child sees of /sys: the CPUs and NUMA nodes (what TensorFlow and NumPy read), and under
    /sys/fs/cgroup only its own grading's cgroup (its limits, as TensorFlow reads its quota there) and the
    CPU quota files of the machine's root cgroup; not other gradings' cgroups, not the network devices."""
    binds = [(part, part) for part in ("/sys/devices/system/cpu", "/sys/devices/system/node") if os.path.isdir(part)]
    dirs = cgroup.dirs if cgroup is not None else {}
    if "v2" in dirs:
        binds.append((str(dirs["v2"]), "/sys/fs/cgroup"))
    else:
        binds += [(str(d), f"/sys/fs/cgroup/{controller}") for controller, d in dirs.items()]
        binds += [(path, path) for controller in ("cpu", "cpu,cpuacct")
                  for path in (f"/sys/fs/cgroup/{controller}/{name}" for name in
                               ("cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.shares")) if os.path.isfile(path)]
    args, made = ["--tmpfs", "/sys"], {Path("/sys")}
    for outside, inside in binds:
        for parent in reversed(Path(inside).parents):  # bwrap makes missing folders 0700: other users could
            if parent not in made and Path("/sys") in parent.parents:  # not enter them
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += ["--ro-bind", outside, inside]
    return args


def _bwrap(view: View, cgroup: "Cgroup | None" = None) -> list[str]:
    """bubblewrap's options. As root, without a user namespace (in one, the program would own every
    file root owns, the machine's device nodes included): bwrap keeps only the right to change user,
    and the command starts by becoming a user id of its own, which owns its two folders and nothing else."""
    as_root = os.geteuid() == 0
    spaces = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
              *([] if view.network else ["--unshare-net"])] if as_root else \
        ["--unshare-all", *(["--share-net"] if view.network else [])]
    args = [*spaces, *(["--hostname", "grader"] if "--unshare-uts" in spaces or "--unshare-all" in spaces else []),
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            *(["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if as_root else []), *_system_binds()]
    readable = [Path(p) for p in outermost(view.readable)]
    bound, made = [Path("/") / n for n in SYSTEM], {Path("/")}

    def bind(option: str, outside, inside):
        for parent in reversed(Path(inside).parents):  # folders on the way, enterable (/root is not, outside)
            if parent not in made and not any(b == parent or b in parent.parents for b in bound):
                args.extend(["--perms", "0755", "--dir", str(parent)])
                made.add(parent)
        args.extend([option, str(outside), str(inside)])
        bound.append(Path(inside))

    # the child's own /tmp first: a virtualenv under /tmp is then bound on top of it, not hidden by it
    args += [*_sys_view(cgroup), "--proc", "/proc", "--dev", "/dev", "--perms", "01777", "--tmpfs",
             "/dev/shm", "--bind", str(view.private_tmp), "/tmp"]
    for path in readable:
        bind("--ro-bind", path, path)
    for hidden in paths_to_hide(view.hide):
        if any(b == hidden or b in hidden.parents for b in bound):
            args += ["--tmpfs", str(hidden)]
    for inside, outside in view.harness.items():
        bind("--ro-bind", outside, inside)
    for path in (view.workdir, view.artifacts):
        bind("--bind", path, path)
    for inside, target in view.links.items():
        if not any(b == Path(inside) or b in Path(inside).parents for b in bound):
            bind("--symlink", target, inside)
    return args + ["--chdir", str(view.workdir)]


def full_sandbox_here(isolation: str | None = None) -> bool:
    """Whether gradings here get the full sandbox (bubblewrap), as nothing asked for less."""
    isolation = isolation or os.environ.get("GRADER_ISOLATION") or "auto"
    return isolation == "auto" and bubblewrap_available()


def open_sandbox(memory_mib: int, max_tasks: int, isolation: str | None = None,
                 max_file_bytes: int = 2**31) -> Sandbox:
    """The strongest sandbox this machine offers, or the weaker one ``isolation`` (or the environment
    variable GRADER_ISOLATION) asks for: "auto" (default), "unprivileged-user" or "process-group"."""
    isolation = isolation or os.environ.get("GRADER_ISOLATION") or "auto"
    warnings: list[str] = []
    if isolation == "process-group":
        return Sandbox("process-group", None, ["Isolation was reduced on request (GRADER_ISOLATION=process-group): "
                                               "no sandbox and no cgroup limits for this grading; the program ran "
                                               "as the grader's own user."], max_file_bytes)
    confined = False
    if isolation == "unprivileged-user" or not bubblewrap_available():
        why = ("on request (GRADER_ISOLATION=unprivileged-user)" if isolation == "unprivileged-user" else
               "on this machine: bubblewrap (bwrap) is not available")
        mode = "unprivileged-user" if nobody_can_run_python() else "process-group"
        confined = os.geteuid() == 0 and namespaces_available()
        who = ("an unprivileged user of its own" if mode == "unprivileged-user" else
               f"root without capabilities (no unprivileged user can run this Python, {sys.executable})")
        if confined:
            warnings.append(f"Isolation is weaker {why}. The grader confined the program itself: it ran as {who}, in "
                            "a mount namespace of its own where the machine is read-only, /tmp, /var/tmp and /dev/shm "
                            "(and its shared memory and message queues) are private to it and gone afterwards, and "
                            "the exercises, hidden checks, datasets and the grader's own files are covered; with no "
                            "network and no capabilities, it cannot undo this. It could read every other file on "
                            "this machine that "
                            + ("root owns or every user may read (/etc/shadow, /root among them)" if mode !=
                               "unprivileged-user" else "every user may read")
                            + ". Install the bubblewrap package for the full sandbox.")
        elif mode == "unprivileged-user":
            warnings.append(f"Isolation is weaker {why}: the program ran as an unprivileged user of its own, which "
                            "can change nothing outside its working folder and the machine's shared temporary "
                            "folders, but can read files readable by every user (the exercises' hidden checks among "
                            "them), see the other gradings' folders and use the machine's network. Install the "
                            "bubblewrap package for the full sandbox.")
        else:
            warnings.append(f"Isolation is weak {why}, and an unprivileged user cannot run this Python ({sys.executable}), "
                            "so the program ran as the grader's own user: it could read and change that user's "
                            "files, use the network, and leave processes behind by calling setsid(). Install the "
                            "bubblewrap package.")
    else:
        mode = "bubblewrap"
    cgroup = make_cgroup(memory_mib, max_tasks)
    if cgroup is None:
        warnings.append(f"No writable cgroup: the process limit ({max_tasks}) is not enforced, and the memory limit "
                        f"({memory_mib} MiB) is watched from outside, every quarter second.")
    return Sandbox(mode, cgroup, warnings, max_file_bytes, confined=confined)


def outermost(paths) -> list[str]:
    """The resolved folders of ``paths`` that are not inside another of them."""
    resolved = sorted({str(Path(p).resolve()) for p in paths})
    return [p for p in resolved if not any(p != q and p.startswith(q + "/") for q in resolved)]


def paths_to_hide(candidates) -> list[Path]:
    """The existing folders among ``candidates``, resolved, once each."""
    out = []
    for c in candidates:
        try:
            p = Path(c).resolve()
        except OSError:
            continue
        if p.is_dir() and p != Path("/") and p not in out:
            out.append(p)
    return out
