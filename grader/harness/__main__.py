"""Child-process entry point: ``python -I -m grader.harness`` with the job as JSON on stdin.

Runs INSIDE the untrusted child. It shares no import with the trusted side:
the job comes in as JSON, the trace and the model go out as files.
"""

import sys

from grader.harness.run import main

main(sys.stdin.read())
