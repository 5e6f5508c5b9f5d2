"""Which Keras a submission runs on: tf.keras 2 code on the Keras team's ``tf-keras`` package, the rest on
Keras 3 (trusted side; reads the source as text, never runs it).

The course's material up to 2023 was written for tf.keras 2, whose API Keras 3 changed: legacy optimizers,
``lr=``, TensorFlow 1 optimizers in ``compile``, ``fit_generator``, predict on Python lists. Rather than
translate each idiom, such a program runs on Keras 2 itself (``TF_USE_LEGACY_KERAS=1``, package
``tf-keras``), as its author ran it. An exercise can pin one runtime (``runtime = "keras2"`` or
``"keras3"`` at the top of its spec); the default, ``"auto"``, decides per submission from what its
source uses, and the report says which runtime graded it and why.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

KERAS2, KERAS3 = "keras2", "keras3"
CHOICES = ("auto", KERAS2, KERAS3)

# (pattern on code with comments and strings blanked, what the report calls it); each is an API that
# tf.keras 2 (or TensorFlow 1) had and Keras 3 refuses or changed.
KERAS2_SIGNS = (
    (r"\boptimizers\s*\.\s*legacy\b", "a legacy optimizer (tf.keras.optimizers.legacy)"),
    (r"\b(?:tf\s*\.\s*train|compat\s*\.\s*v1\s*\.\s*train)\s*\.\s*\w*Optimizer\b",
     "a TensorFlow 1 optimizer (tf.train.*Optimizer)"),
    (r"\b(?:fit|evaluate|predict)_generator\s*\(", "model.fit_generator and its kin"),
    (r"\bfrom\s+keras\.preprocessing\.image\s+import\b", "from keras.preprocessing.image import"),
    (r"\bkeras\s*\.\s*backend\s*\.\s*tensorflow_backend\b", "keras.backend.tensorflow_backend"),
    (r"\.\s*(?:predict|fit|evaluate|train_on_batch|test_on_batch)\s*\(\s*\[", "a Python list given to the model"),
    (r"\b(?:SGD|Adam|RMSprop|Adagrad|Adadelta|Adamax|Nadam|Ftrl)\s*\([^()]*\blr\s*=",
     "an optimizer's lr= argument"),
    (r"\btf\s*\.\s*(?:Session|ConfigProto|logging|enable_eager_execution|placeholder)\b", "TensorFlow 1 calls"),
    (r"\bmetrics\s*=\s*\[\s*['\"]acc['\"]", "metrics=['acc']"),
    (r"\bhistory\s*\[\s*['\"](?:val_)?acc['\"]\s*\]", "history.history['acc']"),
    (r"\.\s*output_shape\b", "a layer's output_shape"),
)
KERAS3_SIGNS = (
    (r"\bkeras\s*\.\s*(?:ops|config|src)\b", "Keras 3 modules (keras.ops, keras.config)"),
    (r"\bfrom\s+keras\s+import\s+[^\n]*\b(?:ops|config)\b", "Keras 3 modules (keras.ops, keras.config)"),
    (r"\bkeras\s*\.\s*(?:saving|layers)\s*\.\s*(?:TorchModuleWrapper|JaxLayer)\b", "Keras 3 layers"),
    (r"\.weights\.h5\b", "Keras 3's .weights.h5 file names"),
)


@dataclass
class Choice:
    name: str  # "keras2" | "keras3"
    reason: str  # a sentence for the report
    signs: list = field(default_factory=list)  # [{"sign": TEXT, "line": N}]

    @property
    def package(self) -> str:
        return "tf-keras (Keras 2)" if self.name == KERAS2 else "Keras 3"

    def as_dict(self) -> dict:
        return {"name": self.name, "package": self.package, "reason": self.reason, "signs": self.signs}


def code_only(source: str) -> str:
    """The source with comments and string contents blanked (line numbers kept), so a comment or a
    docstring that mentions ``lr=`` decides nothing. Import lines keep their text."""
    lines = source.splitlines()
    out = [list(line) for line in lines]
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.STRING):
                (r0, c0), (r1, c1) = tok.start, tok.end
                keep_quotes = tok.type == tokenize.STRING and r0 == r1 and len(tok.string) <= 12
                if keep_quotes:  # short literals ('acc', 'accuracy') are what some signs look for
                    continue
                for r in range(r0, r1 + 1):
                    row = out[r - 1]
                    start = c0 if r == r0 else 0
                    end = c1 if r == r1 else len(row)
                    for c in range(start, min(end, len(row))):
                        row[c] = " "
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return "\n".join(re.sub(r"#.*", "", line) for line in lines)
    return "\n".join("".join(row) for row in out)


def _found(code: str, signs) -> list:
    found = []
    for pattern, what in signs:
        for m in re.finditer(pattern, code):
            line = code.count("\n", 0, m.start()) + 1
            if not any(f["sign"] == what for f in found):
                found.append({"sign": what, "line": line})
    return sorted(found, key=lambda f: f["line"])


def choose(source: str, pinned: str = "auto", locate=lambda line: f"line {line}") -> Choice:
    """The runtime for ``source`` under the exercise's setting ``pinned``; ``reason`` completes the
    sentence "ran on PACKAGE, because ..."; ``locate`` says where a line is (a notebook's cell)."""
    if pinned in (KERAS2, KERAS3):
        return Choice(pinned, "the exercise runs every submission on it.")
    code = code_only(source)
    old, new = _found(code, KERAS2_SIGNS), _found(code, KERAS3_SIGNS)
    if old and not new:
        first = old[0]
        more = f" and {len(old) - 1} more tf.keras 2 idiom{'s' if len(old) > 2 else ''}" if len(old) > 1 else ""
        return Choice(KERAS2, f"your code is written for tf.keras 2: it uses {first['sign']} ({locate(first['line'])})"
                              f"{more}, which Keras 3 changed or dropped. tf-keras is the Keras team's package "
                              "for such code.", old)
    if old and new:
        return Choice(KERAS3, f"your code uses Keras 3 ({new[0]['sign']}, {locate(new[0]['line'])}); the grader "
                              "translated its tf.keras 2 idioms.", old)
    return Choice(KERAS3, "your code uses today's tf.keras API.")
