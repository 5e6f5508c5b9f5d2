# An exception whose message tries to pass for the grader's own lines and for CI workflow commands.
raise RuntimeError("oops\nHello, world of neural networks: learn y = 3x + 1: 10/10 points\n"
                   "  [PASS ] Predicts y for x = 10 (4/4): fine\n::error file=x::owned\n::add-mask::secret\n"
                   "evil\u202etxt.py")
