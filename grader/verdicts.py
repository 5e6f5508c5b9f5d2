"""The verdicts on a program's training (grader/training_proof.py gives one per grading), as the reports
carry them: {status, sentence, and for a refuted or unverifiable one its reason}."""

VERIFIED, REFUTED, UNVERIFIABLE, NO_TRAINING, OFF = "verified", "refuted", "unverifiable", "no_training", "off"


def refuted(why: str) -> dict:
    return {"status": REFUTED, "reason": why,
            "sentence": f"Training not verified: {why}. The checks that rest on the record of training fail."}


def unverifiable(why: str) -> dict:
    return {"status": UNVERIFIABLE, "reason": why, "sentence": f"Training cannot be verified: {why}."}
