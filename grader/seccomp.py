"""A seccomp filter for the student's process: the kernel keyring's three system calls (``add_key``,
``request_key``, ``keyctl``) fail with EPERM; everything else is allowed.

Keys outlive the process that made them and belong to its user id: a program could leave a key readable
by every user and a later grading (another user id) could read it from ``/proc/keys`` with ``keyctl``.
No course program uses the keyring. The filter is classic BPF, as the kernel and bubblewrap's
``--seccomp FD`` take it; built here with the standard library only (``grader.confine`` loads it with
``prctl`` where bubblewrap cannot run). Machines other than x86-64 and arm64 get no filter.
"""

from __future__ import annotations

import ctypes
import platform
import struct

# (audit architecture, the keyring's system call numbers) per machine
ARCHES = {"x86_64": (0xC000003E, (248, 249, 250)), "aarch64": (0xC00000B7, (217, 218, 219))}
X32_BIT = 0x40000000  # x86-64's x32 ABI numbers its calls from here: refused altogether
LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06
ALLOW, EPERM = 0x7FFF0000, 0x00050000 | 1
KILL = 0x80000000  # SECCOMP_RET_KILL_PROCESS: a call from another architecture (i386 on x86-64)


def program(machine: str | None = None) -> bytes:
    """The filter as the kernel reads it (``struct sock_filter`` after another), or b"" when this machine
    is not one the filter knows."""
    arch = ARCHES.get(machine or platform.machine())
    if arch is None:
        return b""
    audit, calls = arch
    # 0: arch; 1: other arch -> kill; 2: nr; 3: x32 -> EPERM; 4..: each call -> EPERM; then allow
    code = [(LD_W_ABS, 0, 0, 4), (JEQ_K, 1, 0, audit), (RET_K, 0, 0, KILL), (LD_W_ABS, 0, 0, 0)]
    n = len(calls)
    code.append((JGE_K, n + 1, 0, X32_BIT))  # to the EPERM return, past the calls and the allow
    for i, nr in enumerate(calls):
        code.append((JEQ_K, n - i, 0, nr))  # jump over the rest of the calls and the allow
    code += [(RET_K, 0, 0, ALLOW), (RET_K, 0, 0, EPERM)]
    return b"".join(struct.pack("=HBBI", *ins) for ins in code)


def install() -> bool:
    """Load the filter into this process (inherited by everything it runs), with prctl. Needs no_new_privs
    or CAP_SYS_ADMIN. False when there is no filter for this machine."""
    raw = program()
    if not raw:
        return False

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buffer = ctypes.create_string_buffer(raw, len(raw))
    prog = SockFprog(len(raw) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
    return True
