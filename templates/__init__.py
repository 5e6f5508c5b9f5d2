"""Report templates, installed as ``grader.templates``; an instructor folder can override them."""
