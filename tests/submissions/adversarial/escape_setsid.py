# Starts a process in a new session (out of the grader's process group) and records its pid.
import subprocess
import time

p = subprocess.Popen(["sleep", "300"], start_new_session=True)
with open(PIDFILE, "w") as f:
    f.write(str(p.pid))
time.sleep(1)
