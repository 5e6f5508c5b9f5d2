# Starts a process in a new session (out of the grader's process group), then finishes normally.
import subprocess
import time

p = subprocess.Popen(["sleep", "307"], start_new_session=True)
print("started a session leader")
time.sleep(1)
