"""The weaker sandbox made as strong as the machine allows where bubblewrap cannot run but the grader is
root (started inside ``unshare --mount --pid --ipc --uts --fork --kill-child --mount-proc [--net]``, still as root,
before the program): in that private mount namespace every mount becomes read-only, ``/tmp`` is the
program's own folder, ``/var/tmp`` and ``/dev/shm`` are private and vanish with it, ``/dev`` holds only
the harmless devices, the folders held back (exercises with their hidden specs, datasets, the grader's
cache and checkout) are covered, and the harness's own modules are copied where the program can import
them. Then it becomes the program, with no capability left (as a user id of its own where one can run
this Python, else as root without capabilities, which can neither mount nor unmount, so none of this can
be undone). Uses only the standard library: it runs before the harness exists for the child.

Usage (one JSON argument): python -I -m grader.confine SPEC, where SPEC is
{"workdir", "artifacts", "private_tmp", "keep": [paths that must stay visible as they are],
 "hide": [...], "harness": {path inside: path outside}, "uid": N | null, "argv": [...]}.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import socket
import sys

from grader import seccomp

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_libc = ctypes.CDLL(None, use_errno=True)


def mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    if _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _mountpoints() -> list[tuple[str, set]]:
    """(mount point, its per-mount flags) for every mount in this namespace."""
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            out.append((point, set(fields[5].split(","))))
    return out


def _flags(options: set) -> int:
    return (MS_NOSUID if "nosuid" in options else 0) | (MS_NODEV if "nodev" in options else 0) | \
        (MS_NOEXEC if "noexec" in options else 0)


def _bind_from(fd: int, target: str, directory: bool = True):
    if directory:
        os.makedirs(target, exist_ok=True)
    elif not os.path.exists(target):
        open(target, "w").close()
    mount(f"/proc/self/fd/{fd}", target, None, MS_BIND)


def confine(spec: dict):
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = [spec["workdir"], spec["artifacts"], *spec.get("keep", [])]
    held = {path: os.open(path, os.O_PATH) for path in keep if os.path.isdir(path)}
    tmp_fd = os.open(spec["private_tmp"], os.O_PATH)
    devices = {name: os.open(f"/dev/{name}", os.O_PATH) for name in DEVICES if os.path.exists(f"/dev/{name}")}
    # everything read-only, each mount keeping its own nosuid/nodev/noexec; /proc too: the program may be
    # root without capabilities, and root owns /proc/sys (kernel.core_pattern runs a program of its
    # choosing on the machine, as root) and /proc/sysrq-trigger, which need no capability to write
    for point, options in _mountpoints():
        try:
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _flags(options))
        except OSError:
            pass  # a mount hidden under another one; what covers it is read-only
    # the harness's modules, where the program imports them, and the program's own /etc files (the
    # machine's name, addresses, name servers and identity stay outside), in a private tmpfs over /run
    mount("grader", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for inside, outside in (spec.get("harness") or {}).items():
        os.makedirs(os.path.dirname(inside), exist_ok=True)
        if os.path.isdir(outside):
            shutil.copytree(outside, inside, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(outside, inside)
    own = {dest: text for dest, text in (spec.get("own_files") or {}).items()
           if os.path.isfile(dest) and not os.path.islink(dest)}
    os.makedirs("/run/grader-etc", mode=0o755)
    for i, (dest, text) in enumerate(own.items()):
        with open(f"/run/grader-etc/{i}", "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(f"/run/grader-etc/{i}", 0o644)
    mount(None, "/run", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for i, dest in enumerate(own):
        mount(f"/run/grader-etc/{i}", dest, None, MS_BIND)
        mount(None, dest, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    socket.sethostname("grader")  # a UTS namespace of its own
    # of /sys, no network devices, and of the cgroups only its own grading's (what TensorFlow reads)
    own_cgroups = {controller: os.open(folder, os.O_PATH) for controller, folder in (spec.get("cgroup") or {}).items()
                   if os.path.isdir(folder)}  # held before the cover hides them
    for covered in ("/sys/class/net", "/sys/fs/cgroup"):
        if os.path.isdir(covered):
            mount("grader", covered, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for controller, fd in own_cgroups.items():
        inside = "/sys/fs/cgroup" if controller == "v2" else f"/sys/fs/cgroup/{controller}"
        _bind_from(fd, inside)
        mount(None, inside, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    for covered in ("/sys/class/net", "/sys/fs/cgroup"):
        if os.path.isdir(covered):
            mount(None, covered, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    # what is held back disappears under an empty read-only tmpfs
    for hidden in spec.get("hide", []):
        if os.path.isdir(hidden):
            mount("grader", hidden, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "mode=0755")
    # private scratch space: the program's own /tmp, and /var/tmp and /dev/shm that vanish with it
    if os.path.isdir("/var/tmp"):
        mount("grader", "/var/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    mount("grader", "/dev", "tmpfs", MS_NOSUID, "mode=0755")
    for name, fd in devices.items():
        _bind_from(fd, f"/dev/{name}", directory=False)
    os.makedirs("/dev/shm")
    mount("grader", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    # a bind mount keeps the read-only flag of the mount it comes from: the writable ones are made so
    _bind_from(tmp_fd, "/tmp")
    mount(None, "/tmp", None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
    # the folders that must stay as they were (the Python installation), put back where a cover above went
    # over them, read-only; the working folders always, writable
    writable = (spec["workdir"], spec["artifacts"])
    for path, fd in held.items():
        try:
            same = os.path.samestat(os.stat(path), os.fstat(fd))
        except OSError:
            same = False
        if path in writable:
            _bind_from(fd, path)
            mount(None, path, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
        elif not same:
            _bind_from(fd, path)
            mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    for fd in [*held.values(), tmp_fd, *devices.values()]:
        os.close(fd)
    os.chdir(spec["workdir"])


def main():
    spec = json.loads(sys.argv[1])
    confine(spec)
    seccomp.install()  # the kernel keyring off (grader/seccomp.py), kept across setpriv and the program
    drop = ["--no-new-privs", "--bounding-set=-all", "--inh-caps=-all"]
    if spec.get("uid") is not None:
        drop = [f"--reuid={spec['uid']}", f"--regid={spec['uid']}", "--clear-groups", *drop]
    setpriv = spec.get("setpriv") or "setpriv"  # found by the grader: PATH may lead under a folder now covered
    os.execvp(setpriv, [setpriv, *drop, "--", *spec["argv"]])


if __name__ == "__main__":
    main()
