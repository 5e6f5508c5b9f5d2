# Starts many processes (bounded: 300), more than the exercise allows.
import subprocess

children = []
try:
    for _ in range(300):
        children.append(subprocess.Popen(["sleep", "30"]))
    print("started", len(children))
except OSError as exc:
    print("refused after", len(children), type(exc).__name__)
