"""The child sees a read-only machine: a program that deletes, chmods or plants whatever it can reach
changes nothing outside its own folder (checked with content hashes before and after), finds none of
the grader's secrets, cannot touch another grading, cannot raise its own limits, and dies with the
grader. Destructive programs run only under bubblewrap: the first assertion of each such test."""

import csv
import hashlib
import json
import os
import shutil
import signal
import site
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXERCISES, ROOT, SUBMISSIONS, by_name, hello_world_with, run_cli
from grader import runner, sandbox
from grader.exercise import load_exercise
from grader.grading import grade

ADVERSARIAL = SUBMISSIONS / "adversarial"
SKIP_NAMES = {"__pycache__", ".pytest_cache", "test-artifacts"}


def tree_state(top: Path, contents: bool = True) -> dict:
    """Every file and folder under ``top``: its mode, size and (with ``contents``) a hash of its bytes."""
    state = {}
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in SKIP_NAMES]
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            entry = (st.st_mode, st.st_size if not os.path.isdir(path) else 0)
            if contents and os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    entry += (hashlib.blake2b(f.read(), digest_size=12).hexdigest(),)
            state[path] = entry
    return state


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    return hello_world_with(tmp_path_factory.mktemp("ex") / "hello_tight", memory_mib=1024, processes=160,
                            file_mib=16, disk_mib=200)


def submission(tmp_path: Path, name: str, **replace) -> Path:
    source = (ADVERSARIAL / name).read_text()
    for key, value in replace.items():
        source = source.replace(key, value)
    path = tmp_path / name
    path.write_text(source)
    return path


def test_a_program_that_destroys_what_it_reaches_changes_nothing_outside_its_folder(tight, tmp_path, standin):
    assert sandbox.open_sandbox(256, 16).mode == "bubblewrap"  # never run this program outside the sandbox
    out = tmp_path / "batch-out"
    out.mkdir()
    (out / "gradebook.csv").write_text("student,score\nalice,10\n")
    package = Path(runner.__file__).resolve().parent
    targets = [ROOT, package, standin, out, Path(sys.prefix)]
    watched = {"checkout": (ROOT, True), "dataset": (standin, True), "out": (out, True),
               "python": (Path(sys.prefix), False)}
    before = {k: tree_state(p, contents) for k, (p, contents) in watched.items()}
    path = submission(tmp_path, "destroy.py", TARGETS=repr([str(t) for t in targets]))
    report = grade(tight, path, time_limit=90).to_dict()
    after = {k: tree_state(p, contents) for k, (p, contents) in watched.items()}
    for key in watched:
        assert after[key] == before[key], key
    assert report["run"]["isolation"] == "bubblewrap"
    assert "destroyed what it could" in report["run"]["output_tail"]
    assert "planted a .pth" not in report["run"]["output_tail"]
    assert report["score"] == 10
    assert not Path("/tmp/PWNED-BY-PTH").exists()


def test_a_program_that_searches_the_machine_finds_no_secret(tight, tmp_path):
    report = grade(tight, submission(tmp_path, "seek_secrets.py"), time_limit=120).to_dict()
    out = report["run"]["output_tail"]
    assert "secrets found: 0 []" in out
    assert "harness files: ['__init__.py', 'batchorder.py', 'fingerprint.py', 'harness', 'shellcmd.py', 'tfimport.py']" \
        in out
    assert report["score"] == 10


def test_a_destructive_and_a_colluding_student_leave_their_classmates_grades_alone(tmp_path):
    assert sandbox.open_sandbox(256, 16).mode == "bubblewrap"
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(EXERCISES / "hello_world" / "solution.py", subs / "a_alice.py")
    weak = (SUBMISSIONS / "hello_world" / "too_few_epochs.py").read_text()
    (subs / "c_carol.py").write_text(weak)
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "c_carol.py").write_text(weak)
    result = run_cli("grade", "hello_world", alone / "c_carol.py", "--json", tmp_path / "carol-alone.json")
    carol_alone = json.loads((tmp_path / "carol-alone.json").read_text())
    assert result.exit_code == 1
    (subs / "b_mallory.py").write_text(
        (ADVERSARIAL / "collude.py").read_text() + "\n" +
        (ADVERSARIAL / "destroy.py").read_text().replace("TARGETS", repr([str(tmp_path)])))
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, GRADER_WORK_DIR=str(work))
    done = subprocess.run([sys.executable, "-m", "grader", "batch", "hello_world", str(subs), "--out",
                           str(tmp_path / "out"), "--workers", "2", "--time-limit", "120"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(tmp_path / "out" / "gradebook.csv", newline="") as f:
        scores = {r["student"]: float(r["score"]) for r in csv.DictReader(f)}
    assert scores["a_alice"] == 10
    assert scores["c_carol"] == carol_alone["score"]
    carol = json.loads((tmp_path / "out" / "students" / "c_carol" / "report.json").read_text())
    assert [c["score"] for c in carol["checks"]] == [c["score"] for c in carol_alone["checks"]]
    mallory = json.loads((tmp_path / "out" / "students" / "b_mallory" / "report.json").read_text())
    assert "touched other gradings: 0" in mallory["run"]["output_tail"]
    assert list(work.iterdir()) == []  # every grading's folders are gone


def test_a_program_that_raises_its_own_limits_is_still_stopped_at_the_memory_limit(tight, tmp_path):
    source = ("import glob\nimport numpy as np\n"
              "for f in glob.glob('/sys/fs/cgroup/**/memory.limit_in_bytes', recursive=True)"
              " + glob.glob('/sys/fs/cgroup/**/memory.max', recursive=True):\n"
              "    try:\n        open(f, 'w').write(str(64 * 2**30))\n        print('raised', f)\n"
              "    except OSError as e:\n        print('refused', e.errno)\n"
              "blob = np.ones(10 * 2**30, dtype=np.uint8)\nprint('allocated')\n")
    path = tmp_path / "raise_limits.py"
    path.write_text(source)
    report = grade(tight, path, time_limit=120).to_dict()
    run = report["run"]
    assert "raised" not in run["output_tail"] and "allocated" not in run["output_tail"]
    assert (run["status"], run["memory_exceeded"], run["timed_out"], run["memory_limit_mib"]) == \
        ("memory", True, False, 1024)
    assert run["duration_s"] < 60  # stopped at the limit, not by the 120 s clock
    assert by_name(report)["within_limits"]["message"] == \
        "Your program was stopped before training began: it asked for more memory than the limit of 1024 MiB."


def test_a_grader_killed_outright_takes_its_student_with_it_and_its_cgroup_goes_next_time(tmp_path):
    (tmp_path / "slow.py").write_text("import time\nopen('started', 'w').write('1')\ntime.sleep(1000)\n")
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "grader", "grade", "hello_world", str(tmp_path / "slow.py")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, GRADER_WORK_DIR=str(work)))
    deadline = time.time() + 60
    while not list(work.glob("grader-run-*/started")) and time.time() < deadline:
        time.sleep(0.1)
    assert list(work.glob("grader-run-*/started"))
    groups = [d for d in Path("/sys/fs/cgroup").glob(f"*/grader-{proc.pid}-*")] + \
        list(Path("/sys/fs/cgroup").glob(f"grader-{proc.pid}-*"))
    assert groups
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while any(_cwd_in(p, work) for p in os.listdir("/proc")) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(_cwd_in(p, work) for p in os.listdir("/proc"))
    sandbox.open_sandbox(256, 16).close()  # the next grading sweeps what the dead one left
    assert [d for d in groups if d.exists()] == []


def _cwd_in(pid: str, folder: Path) -> bool:
    try:
        return pid.isdigit() and os.readlink(f"/proc/{pid}/cwd").startswith(str(folder))
    except OSError:
        return False


PROBE = """import json, os, uuid
import numpy as np
import tensorflow as tf
seen = {}
for path in HIDDEN:
    try:
        open(path).read()
        seen[path] = "read"
    except OSError as exc:
        seen[path] = type(exc).__name__
for folder in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        with open(os.path.join(folder, LEFTOVER), "wb") as f:
            f.write(bytes(2**20))
        seen[folder] = "wrote"
    except OSError as exc:
        seen[folder] = type(exc).__name__
for path in ("/etc/" + LEFTOVER, "/usr/" + LEFTOVER):
    try:
        open(path, "w").write("x")
        seen[path] = "wrote"
    except OSError as exc:
        seen[path] = type(exc).__name__
# root without capabilities may still write what root owns in /proc: kernel.core_pattern runs a program
# of its choosing on the machine (opened for writing only, never written)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
seen["add_key"] = libc.syscall(248, b"user", b"note", b"x", 1, ctypes.c_int(-4)) > 0 or ctypes.get_errno()
# a System V message queue under a key: on the machine's own IPC it would outlive the grading
seen["msgget"] = libc.msgget(IPC_KEY, 0o1000 | 0o666) >= 0
# what would tell the machine or the other gradings apart
import socket
seen["hostname"] = socket.gethostname()
seen["net"] = sorted(os.listdir("/sys/class/net")) if os.path.isdir("/sys/class/net") else None
seen["cgroups"] = sorted(os.listdir("/sys/fs/cgroup/memory")) if os.path.isdir("/sys/fs/cgroup/memory") else None
seen["hosts"] = open("/etc/hosts").read() if os.path.isfile("/etc/hosts") else None
for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches"):
    try:
        os.close(os.open(path, os.O_WRONLY))
        seen[path] = "wrote"
    except OSError:  # read-only (root without capabilities) or not allowed (a user of its own)
        seen[path] = "refused"
print("PROBE", json.dumps(seen))
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
model.fit(xs, 3 * xs + 1, epochs=500, verbose=0)
"""


def test_without_bubblewrap_the_program_is_confined_and_leaves_nothing(tmp_path):
    """bwrap removed from PATH, the grader as root: the program cannot read the hidden checks or the
    reference solution, and what it writes to /tmp, /var/tmp and /dev/shm is gone with it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/usr/sbin", "/bin", "/sbin"):
        for tool in (Path(folder).iterdir() if Path(folder).is_dir() else []):
            if tool.name != "bwrap" and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    leftover = f"grader-probe-{os.getpid()}-{time.time_ns()}"
    hidden = [str(EXERCISES / "hello_world" / "hidden.toml"), str(EXERCISES / "hello_world" / "solution.py")]
    path = tmp_path / "probe.py"
    ipc_key = 0x28B00000 + os.getpid() % 0xFFFFF
    path.write_text(PROBE.replace("HIDDEN", repr(hidden)).replace("LEFTOVER", repr(leftover))
                    .replace("IPC_KEY", str(ipc_key)))
    out = tmp_path / "r.json"
    env = dict(os.environ, PATH=str(bin_dir))
    env.pop("GRADER_ISOLATION", None)
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "hello_world", str(path), "--json", str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    report = json.loads(out.read_text())
    run = report["run"]
    assert run["isolation"] in ("unprivileged-user", "process-group")
    assert run["warnings"][0].startswith("Isolation is weaker on this machine: bubblewrap (bwrap) is not available. "
                                         "The grader confined the program itself")
    assert "Warning: Isolation is weaker on this machine" in done.stdout
    seen = json.loads(run["output_tail"].split("PROBE ", 1)[1].splitlines()[0])
    assert {p: seen[p] for p in hidden} == {p: "FileNotFoundError" for p in hidden}
    assert seen["/etc/" + leftover] == seen["/usr/" + leftover] == "OSError"  # read-only
    assert seen["/proc/sys/kernel/core_pattern"] == seen["/proc/sys/vm/drop_caches"] == "refused"
    assert seen["add_key"] == 1  # EPERM: the kernel keyring is off (grader/seccomp.py)
    assert [seen[f] for f in ("/tmp", "/var/tmp", "/dev/shm")] == ["wrote"] * 3  # into its private ones...
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not os.path.exists(os.path.join(folder, leftover))  # ...which are gone
    assert seen["hostname"] == "grader" and seen["net"] in (None, [])
    assert not [name for name in seen["cgroups"] or [] if name.startswith("grader-")]  # no other grading's
    assert seen["hosts"] in (None, sandbox.NETWORK_FILES["/etc/hosts"])
    assert seen["msgget"] is True  # a queue of its own IPC namespace, gone with it: none under that key here
    assert f"0x{ipc_key:08x}" not in subprocess.run(["ipcs", "-q"], capture_output=True, text=True).stdout
    assert report["score"] == 10, [c["message"] for c in report["checks"]]


def test_the_default_limits_do_not_allow_two_gibibytes_of_zeros(tmp_path):
    exercise = load_exercise(EXERCISES / "hello_world")  # the default file and disk limits
    (tmp_path / "zeros.py").write_text(
        "import os\nblock = bytes(2**20)\nfor i in range(4):\n    with open(f'zeros{i}', 'wb') as f:\n"
        "        for _ in range(512):\n            f.write(block)\n    print('wrote', i, flush=True)\n"
        "print('wrote 2 GiB')\n")
    report = grade(exercise, tmp_path / "zeros.py", time_limit=120).to_dict()
    assert (report["run"]["status"], report["run"]["disk_exceeded"], report["run"]["disk_limit_mib"]) == \
        ("disk", True, 1536)
    assert report["score"] == 0 and by_name(report)["within_limits"]["message"] == \
        "Your program was stopped: its files took more than the disk limit of 1536 MiB."
    assert by_name(report)["predicts_31_at_10"]["hint"] == (  # (not how to build a model: it never got that far)
        "Write fewer or smaller files (one copy of the data, one saved model rather than one per epoch), then submit "
        "again.")


def test_a_folder_nested_thousands_deep_and_deleted_open_files_are_measured_not_a_crash(tight, tmp_path):
    (tmp_path / "deep.py").write_text(
        "import os\nos.mkdir('d'); os.chdir('d')\nfor i in range(3000):\n    os.mkdir('a'); os.chdir('a')\n"
        "os.chdir('/tmp')\nfds = []\nfor i in range(25):\n"
        "    fd = os.open(f'/tmp/hide{i}', os.O_CREAT | os.O_WRONLY, 0o600); os.unlink(f'/tmp/hide{i}')\n"
        "    fds.append(fd)\n    for _ in range(12):\n        os.write(fd, bytes(2**20))\n"
        "print('held 300 MiB in deleted files', flush=True)\nimport time\ntime.sleep(30)\n")
    work = tmp_path / "work"
    work.mkdir()
    old = os.environ.get("GRADER_WORK_DIR")
    os.environ["GRADER_WORK_DIR"] = str(work)
    try:
        report = grade(tight, tmp_path / "deep.py", time_limit=60).to_dict()
    finally:
        os.environ.pop("GRADER_WORK_DIR") if old is None else os.environ.__setitem__("GRADER_WORK_DIR", old)
    assert (report["run"]["status"], report["run"]["disk_exceeded"], report["run"]["disk_limit_mib"]) == \
        ("disk", True, 200)
    assert list(work.iterdir()) == []  # the 3,000-deep folder is gone too


def test_deleted_files_held_only_by_a_memory_mapping_count_against_the_disk_limit(tight, tmp_path):
    """A file mapped into memory, then closed and deleted, holds its disk with no name and no open file:
    1.6 GiB of them passed a 1.5 GiB disk limit unseen."""
    (tmp_path / "mapped.py").write_text(
        "import ctypes, os, time\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.mmap.restype = ctypes.c_void_p\n"
        "libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]\n"
        "for i in range(20):\n    fd = os.open(f'blob{i}', os.O_RDWR | os.O_CREAT, 0o600)\n"
        "    os.posix_fallocate(fd, 0, 15 * 2**20)\n    libc.mmap(None, 15 * 2**20, 3, 1, fd, 0)\n"
        "    os.close(fd); os.unlink(f'blob{i}')\nprint('300 MiB mapped, no name, no file open', flush=True)\n"
        "time.sleep(30)\n")
    report = grade(tight, tmp_path / "mapped.py", time_limit=60).to_dict()
    assert (report["run"]["status"], report["run"]["disk_exceeded"], report["run"]["disk_limit_mib"]) == \
        ("disk", True, 200)


def test_gradings_cannot_meet_through_the_kernel_keyring(tight, tmp_path):
    setup = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
             "libc.syscall.restype = ctypes.c_long\n")
    # a key in the user keyring, made readable by every user (KEYCTL_SETPERM): a later grading, another
    # user id, once read it back from /proc/keys. The keyring's system calls now fail in the sandbox.
    (tmp_path / "leave.py").write_text(setup + "k = libc.syscall(248, b'user', b'grader-note', b'the answer', 10, "
                                       "ctypes.c_int(-4))\nprint('left', k > 0, ctypes.get_errno())\n"
                                       "print('setperm', libc.syscall(250, 5, k, ctypes.c_uint32(0x3f3f3f3f)))\n")
    (tmp_path / "find.py").write_text(setup + "k = libc.syscall(249, b'user', b'grader-note', None, 0)\n"
                                      "print('found', k > 0, ctypes.get_errno())\n")
    left = grade(tight, tmp_path / "leave.py", time_limit=60).to_dict()
    found = grade(tight, tmp_path / "find.py", time_limit=60).to_dict()
    assert "left False 1\nsetperm -1" in left["run"]["output_tail"]  # EPERM
    assert "found False 1" in found["run"]["output_tail"]


def test_a_grader_running_from_a_virtualenv_under_tmp_keeps_it(tmp_path):
    """The data-loss bug: the grader's virtualenv lived under /tmp and a course script emptied /tmp."""
    assert sandbox.open_sandbox(256, 16).mode == "bubblewrap"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # the new virtualenv sees what this Python sees (--system-site-packages would reach only the base
    # Python's, which lacks the grader when the tests themselves run in a virtualenv): its site folders,
    # with their .pth files (the editable install's among them)
    inner = subprocess.run([str(venv / "bin" / "python"), "-c", "import site; print(site.getsitepackages()[0])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    Path(inner, "outer.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages()))
    assert str(venv).startswith("/tmp/")
    before = tree_state(venv)
    path = submission(tmp_path, "destroy.py", TARGETS=repr([str(venv)]))
    out = tmp_path / "r.json"
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "grader", "grade", "hello_world", str(path),
                           "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.is_file(), (done.returncode, done.stdout[-2000:], done.stderr[-3000:])
    report = json.loads(out.read_text())
    assert tree_state(venv) == before
    assert (done.returncode, report["score"], report["run"]["isolation"]) == (0, 10, "bubblewrap"), done.stderr


def test_the_child_sees_only_its_own_cgroup_and_no_network_devices_or_names(tmp_path):
    (tmp_path / "s.py").write_text(
        "import json, os\n"
        "def subfolders(p):\n"
        "    return sorted(x for x in os.listdir(p) if os.path.isdir(os.path.join(p, x))) if os.path.isdir(p) else None\n"
        "print('SYS', json.dumps({'net': os.path.exists('/sys/class/net'), 'cpu': os.path.isdir('/sys/devices/system/cpu'),"
        " 'memory': subfolders('/sys/fs/cgroup/memory'), 'pids': subfolders('/sys/fs/cgroup/pids'),"
        " 'top': sorted(os.listdir('/sys')),"
        " 'etc': {n: open('/etc/' + n).read() for n in ('hosts', 'hostname', 'resolv.conf', 'machine-id')"
        "         if os.path.isfile('/etc/' + n)}}))\n")
    report = grade(load_exercise(EXERCISES / "hello_world"), tmp_path / "s.py").to_dict()
    seen = json.loads(report["run"]["output_tail"].split("SYS ", 1)[1].splitlines()[0])
    assert seen["net"] is False and seen["cpu"] is True
    # the machine's name, addresses and name servers stay outside (each file the machine has is replaced)
    own = {**sandbox.HOST_FILES, **sandbox.NETWORK_FILES}
    assert seen["etc"] == {k[5:]: v for k, v in own.items() if os.path.isfile(k) and not os.path.islink(k)}
    assert seen["top"] == ["devices", "fs"]
    assert seen["memory"] in (None, []) and seen["pids"] in (None, [])  # its own cgroup: no other grading's


def test_a_folder_the_grader_cannot_read_counts_as_over_every_limit(tmp_path):
    """Folders nested past the system's path length (4,096 bytes) cannot be listed by path: what they
    hold (2.4 GiB in an attack) would be unseen, so the folder counts as over the limit."""
    from grader.workfolders import UNMEASURABLE, folder_usage, remove_tree

    fd = os.open(tmp_path, os.O_RDONLY)
    for _ in range(20):  # made as a program makes them: one step at a time, relative to the last
        os.mkdir("d" * 230, dir_fd=fd)
        below = os.open("d" * 230, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = below
    os.close(fd)
    used, _ = folder_usage(tmp_path)
    assert used >= UNMEASURABLE
    remove_tree(tmp_path / ("d" * 230))
    assert folder_usage(tmp_path) == (0, 0)


def test_folders_and_links_count_against_the_disk_limit(tmp_path):
    from grader.workfolders import folder_usage

    for i in range(200):
        (tmp_path / f"d{i}").mkdir()
        (tmp_path / f"l{i}").symlink_to("x" * 3000)
    used, entries = folder_usage(tmp_path)
    assert entries == 400
    assert used >= 200 * 4096  # each folder holds a block at least


def holding(files: str, own_mib: str, then: str) -> str:
    """A program that runs ``files`` (code writing in ``folder``, its artifacts folder in memory), then holds
    ``own_mib`` MiB (an expression) of its own memory in ``own``, then runs ``then``."""
    return ("import glob, os, time\nimport numpy as np\nfolders = glob.glob('/dev/shm/grader-artifacts-*')\n"
            f"folder = folders[0]\n{files}own = np.ones(({own_mib}) * 2**20, dtype=np.uint8)\n{then}")


def test_a_verified_gradings_files_in_memory_count_against_the_disk_limit_not_the_memory_limit(tight, tmp_path,
                                                                                                  monkeypatch):
    """A verified grading hands its model and saved states over in a folder in memory (/dev/shm) where the
    machine has room: the files there are disk (150 of the 200 MiB limit), not the program's memory, which
    stays under its 1024 MiB limit with 600 MiB of its own; the folder is gone afterwards. Its first 1,024 MiB
    (the saved states' budget there) are beside the disk limit. Where
    GRADER_WORK_DIR says where working folders go, or there is no such room, the disk is used as before."""
    from grader import workfolders

    assert workfolders.memory_base(200) == "/dev/shm"
    assert workfolders.memory_base(10**8) is None  # (four times 100 TiB: no machine has that room)
    path = tmp_path / "files_in_memory.py"
    path.write_text(holding("for i in range(10):\n"
                            "    with open(os.path.join(folder, f'held{i}'), 'wb') as f:\n"
                            "        f.write(bytes(15 * 2**20))\n", "600",
                            "time.sleep(2)\nprint(len(folders), 'folder in memory,', own.size // 2**20, 'MiB held')\n"))
    report = grade(tight, path, time_limit=60).to_dict()
    run = report["run"]
    assert (run["status"], run["memory_exceeded"], run["disk_exceeded"]) == ("ok", False, False), run
    assert "1 folder in memory, 600 MiB held" in run["output_tail"]
    assert run["warnings"] == []  # (the cgroup held 1024 + 200 + 1024 MiB, as asked)
    assert not list(Path("/dev/shm").glob(f"grader-artifacts-{os.getpid()}-*"))

    # a file there named by twelve links is left out once, and only from the shared pages: 1100 MiB of the
    # program's own memory under the 1024 MiB limit is stopped (helper-17 held 1150 MiB this way, graded 10/10:
    # every link's bytes were left out)
    linked = tmp_path / "linked.py"
    linked.write_text(holding(
        "with open(os.path.join(folder, 'held0'), 'wb') as f:\n"
        "    f.write(bytes(15 * 2**20))\n"
        "for i in range(1, 12):\n"
        "    os.link(os.path.join(folder, 'held0'), os.path.join(folder, f'held{i}'))\n"
        "anon = next(int(line.split()[1]) // 1024 for line in open('/proc/self/status') if line.startswith('RssAnon'))\n",
        "1100 - anon", "time.sleep(5)\nprint('still running', flush=True)\n"))
    report = grade(tight, linked, time_limit=60).to_dict()
    run = report["run"]
    assert (run["status"], run["memory_exceeded"]) == ("memory", True), run
    assert "still running" not in run["output_tail"]
    # the saved states' part of the folder (1,024 MiB) is held beside the disk limit, and the disk limit past it:
    # 1,110 MiB there is within it, 1,410 MiB is not
    beside = tmp_path / "beside.py"
    writes = ("def write(first, count):\n    for i in range(first, first + count):\n"
              "        with open(os.path.join(folder, f'held{i}'), 'wb') as f:\n            f.write(bytes(15 * 2**20))\n")
    beside.write_text(holding(writes + "write(0, 74)\ntime.sleep(2.5)\nprint('within the limit', flush=True)\n"
                              "write(74, 20)\n", "10", "time.sleep(5)\nprint('still running', flush=True)\n"))
    run = grade(tight, beside, time_limit=60).to_dict()["run"]
    assert (run["status"], run["disk_exceeded"], run["memory_exceeded"]) == ("disk", True, False), run
    assert "within the limit" in run["output_tail"] and "still running" not in run["output_tail"]

    monkeypatch.setenv("GRADER_WORK_DIR", str(tmp_path))
    assert workfolders.memory_base(200) is None
