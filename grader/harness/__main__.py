"""Child-process entry point: ``python -I -m grader.harness JOB.json``.

Runs INSIDE the untrusted child. It shares no import with the trusted side:
the job comes in as JSON, the trace and the model go out as files.
"""

import sys

from grader.harness.run import main

main(sys.argv[1])
