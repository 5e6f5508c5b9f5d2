"""What a batch leaves for the instructor: gradebook.csv, summary.json, index.html (the class
dashboard), JUnit XML, and the merge of sharded outputs."""

from __future__ import annotations

import csv
import io
import json
import statistics
from pathlib import Path

from grader import __version__, safetext
from grader.batch import BatchError, load_meta
from grader.output import atomic_write

def write_batch_info(out: Path, exercise, shard: str | None = None):
    info = {"exercise": exercise.name, "title": exercise.title, "max_score": exercise.max_score,
            "checks": [{"name": c.name, "title": c.title, "points": c.points, "visibility": c.visibility}
                       for c in exercise.checks], "grader_version": __version__, "shard": shard}
    atomic_write(out / "batch.json", json.dumps(info, indent=1) + "\n")


def check_out_folder(out: Path, exercise):
    """An --out folder that holds another exercise's results is refused: one gradebook, one exercise."""
    try:
        earlier = json.loads((Path(out) / "batch.json").read_text(encoding="utf-8")).get("exercise")
    except (OSError, ValueError, AttributeError):
        return
    if earlier and earlier != exercise.name:
        raise BatchError(f"--out {out} holds the results of the exercise '{earlier}', not '{exercise.name}'; give "
                         "another --out folder for this exercise.")


def collect_rows(out: Path, only: set | None = None) -> list[dict]:
    """Every finished student under ``out`` (after a batch, a resume or a merge), sorted by id; with
    ``only``, just those student folders."""
    rows = []
    for folder in sorted((out / "students").iterdir()) if (out / "students").is_dir() else []:
        meta = load_meta(folder) if only is None or folder.name in only else None
        if meta:
            rows.append(dict(meta["row"], folder=folder.name))
    return sorted(rows, key=lambda r: r["student"])


def gradebook_csv(rows: list[dict], checks: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", *[c["name"] for c in checks], "status", "duration_s",
                     "training_record", "training_verified"])
    for r in rows:
        writer.writerow([r["student"], f"{r['score']:g}", f"{r['max_score']:g}",
                         *[f"{r['checks'].get(c['name'], 0):g}" for c in checks], r["status"], f"{r['duration_s']:.1f}",
                         r.get("record", ""), r.get("verification", "")])
    return buf.getvalue()


def summarise(info: dict, rows: list[dict], class_size: int | None = None) -> dict:
    """The class in numbers. The mean and median are over every submission with a grade: graded ones and
    invalid ones (0 points, as in the gradebook); a grader error is no grade and is left out."""
    graded = [r for r in rows if r["status"] == "graded"]
    scores = [r["score"] for r in rows if r["status"] in ("graded", "invalid")]
    max_score = info["max_score"]
    bins = 10
    histogram = [0] * bins
    for s in scores:
        histogram[min(int(s / max_score * bins), bins - 1) if max_score else 0] += 1
    per_check = []
    for c in info["checks"]:
        passed = sum(r["checks"].get(c["name"], 0) >= c["points"] for r in graded)
        per_check.append({"name": c["name"], "title": c["title"], "visibility": c["visibility"], "passed": passed,
                          "total": len(graded), "rate": round(passed / len(graded), 4) if graded else None})
    return {
        "exercise": info["exercise"], "title": info["title"], "max_score": max_score,
        "students": len(rows), "graded": len(graded),
        "class_size": len(rows) if class_size is None else class_size,
        "not_finished": max(0, (class_size or 0) - len(rows)),
        "scores_over": "graded and invalid submissions (invalid ones count 0 points); grader errors left out",
        "invalid": [r["student"] for r in rows if r["status"] == "invalid"],
        "grader_errors": [r["student"] for r in rows if r["status"] == "grader_error"],
        "full_marks": sum(s >= max_score for s in scores),
        "mean_score": round(statistics.fmean(scores), 3) if scores else None,
        "median_score": statistics.median(scores) if scores else None,
        "histogram": {"bins": bins, "counts": histogram},
        "checks": per_check,
        "slowest": [{"student": r["student"], "duration_s": r["duration_s"]}
                    for r in sorted(rows, key=lambda r: -r["duration_s"])[:5] if r["duration_s"]],
        "errors": [{"student": r["student"], "status": r["status"], "message": r["message"]}
                   for r in rows if r["status"] != "graded"],
        "grader_version": __version__,
    }


def write_outputs(out: Path, junit_path=None, only: set | None = None,
                  class_size: int | None = None) -> tuple[list[dict], dict]:
    """gradebook.csv, summary.json and index.html (and JUnit XML) from every finished student, or with
    ``only`` from those student folders (a batch: the class as it is now; a student since removed keeps
    its folder but leaves the gradebook, listed in the summary's ``left_out``). ``class_size``: how many
    students the batch had, so an interrupted batch's summary says how many are not finished."""
    from grader.templating import environment

    out = Path(out)
    info = json.loads((out / "batch.json").read_text(encoding="utf-8"))
    rows = collect_rows(out, only)
    summary = summarise(info, rows, class_size)
    summary["left_out"] = sorted(r["student"] for r in collect_rows(out) if only is not None
                                 and r["folder"] not in only)
    atomic_write(out / "gradebook.csv", gradebook_csv(rows, info["checks"]))
    atomic_write(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    html = environment().get_template("dashboard.html").render(s=summary, rows=rows, info=info,
                                                               chart=dashboard_chart(summary))
    atomic_write(out / "index.html", html)
    if junit_path:
        atomic_write(junit_path, batch_junit(out, info, rows))
    return rows, summary


def dashboard_chart(summary: dict) -> dict:
    """Bar geometry for the score distribution (inline SVG, like the report's curves)."""
    counts = summary["histogram"]["counts"]
    top = max(counts) or 1
    width, height, pad = 400, 140, 24
    bar = (width - 2 * pad) / len(counts)
    step = summary["max_score"] / len(counts) if summary["max_score"] else 0
    bars = []
    for i, n in enumerate(counts):
        h = (height - 2 * pad) * n / top
        bars.append({"x": round(pad + i * bar + 1, 1), "y": round(height - pad - h, 1), "w": round(bar - 2, 1),
                     "h": round(h, 1), "n": n, "label": f"{i * step:g}"})
    return {"width": width, "height": height, "pad": pad, "bars": bars, "max_label": f"{summary['max_score']:g}"}


def batch_junit(out: Path, info: dict, rows: list[dict]) -> str:
    """One testsuite per student, one testcase per check, from the students' own reports."""
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name=f"grader.{info['exercise']}")
    for r in rows:
        report_path = out / "students" / r["folder"] / "report.json"
        data = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else None
        suite = ET.SubElement(root, "testsuite", name=r["student"], time=f"{r['duration_s']:.3f}")
        checks = data["checks"] if data and r["status"] == "graded" else []
        if not checks:  # not graded: one failing case says why
            case = ET.SubElement(suite, "testcase", classname=info["exercise"], name="submission")
            ET.SubElement(case, "error" if r["status"] == "grader_error" else "failure",
                          message=safetext.one_line(r["message"]), type=r["status"]).text = safetext.one_line(r["message"])
        for c in checks:
            case = ET.SubElement(suite, "testcase", classname=f"{info['exercise']}.{r['student']}", name=c["name"])
            if c["status"] in ("failed", "error"):
                ET.SubElement(case, "failure" if c["status"] == "failed" else "error",
                              message=safetext.one_line(c["message"]), type=c["status"]).text = safetext.one_line(c["message"])
        suite.set("tests", str(max(len(checks), 1)))
        suite.set("failures", str(sum(c["status"] == "failed" for c in checks) + (not checks and r["status"] != "grader_error")))
        suite.set("errors", str(sum(c["status"] == "error" for c in checks) + (not checks and r["status"] == "grader_error")))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + safetext.for_xml(ET.tostring(root, encoding="unicode")) + "\n"


def merge(out: Path, shards: list[Path]) -> int:
    """Copy the finished students of each shard's output into ``out``; returns how many."""
    import shutil

    out = Path(out)
    if len({Path(d).resolve() for d in shards}) != len(shards):
        raise BatchError("the same shard folder is given twice; give each shard's --out folder once.")
    if any(Path(d).resolve() == out.resolve() for d in shards):
        raise BatchError(f"{out} is one of the shards; merge into a new folder.")
    infos = []
    for d in shards:
        if not (Path(d) / "batch.json").is_file():
            raise BatchError(f"{d} is not the output of grader batch (no batch.json); give the --out folders of the shards.")
        infos.append(json.loads((Path(d) / "batch.json").read_text(encoding="utf-8")))
    names = {i["exercise"] for i in infos}
    if len(names) != 1:
        raise BatchError(f"the shards graded different exercises ({', '.join(sorted(names))}); merge one exercise at a time.")
    try:
        (out / "students").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"{out}: cannot create the merged output folder there ({exc.strerror}).") from None
    atomic_write(out / "batch.json", json.dumps(dict(infos[0], shard=None), indent=1) + "\n")
    copied = 0
    for d in shards:
        for folder in sorted((Path(d) / "students").iterdir()) if (Path(d) / "students").is_dir() else []:
            if load_meta(folder) is None or Path(d).resolve() == out.resolve():
                continue
            dest = out / "students" / folder.name
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(folder, dest)
            copied += 1
    return copied


def missing_shards(shards: list[Path]) -> str:
    """Which shards of a K/N split were not given (empty when all were, or when unknown)."""
    given = [json.loads((Path(d) / "batch.json").read_text(encoding="utf-8")).get("shard") for d in shards]
    counts = {g.split("/")[1] for g in given if g}
    if len(counts) != 1 or None in given:
        return ""
    n = int(counts.pop())
    have = {int(g.split("/")[0]) for g in given}
    return ", ".join(f"{k}/{n}" for k in range(1, n + 1) if k not in have)
