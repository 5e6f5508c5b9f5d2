"""Built-in exercises, installed as the package data of ``grader.exercises`` (one folder each)."""
