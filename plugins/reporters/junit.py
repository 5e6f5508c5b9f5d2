"""Reporter ``junit``: JUnit XML, one testcase per check (read by GitHub Actions, GitLab, Jenkins)."""

from xml.etree import ElementTree as ET

from grader.hookspecs import hookimpl
from grader.output import atomic_write
from grader.safetext import for_xml, one_line


def render(report) -> str:
    data = report.to_dict()
    failures = sum(c["status"] == "failed" for c in data["checks"])
    errors = sum(c["status"] == "error" for c in data["checks"])
    skipped = sum(c["status"] == "skipped" for c in data["checks"])
    suite = ET.Element("testsuite", name=f"grader.{data['exercise']}", tests=str(len(data["checks"])),
                       failures=str(failures), errors=str(errors), skipped=str(skipped),
                       time=f"{data['duration_s']:.3f}")
    props = ET.SubElement(suite, "properties")
    for key in ("score", "max_score", "submission"):
        ET.SubElement(props, "property", name=key, value=str(data[key]))
    for c in data["checks"]:
        case = ET.SubElement(suite, "testcase", classname=f"{data['exercise']}", name=c["name"], time="0")
        message = one_line(c["message"])  # CI logs show these lines: student text never starts one
        text = message + (f"\nHint: {one_line(c['hint'])}" if c.get("hint") else "")
        if c["status"] == "failed":
            ET.SubElement(case, "failure", message=message, type="failed").text = text
        elif c["status"] == "error":
            ET.SubElement(case, "error", message=message, type="error").text = text
        elif c["status"] == "skipped":
            ET.SubElement(case, "skipped", message=message)
        ET.SubElement(case, "system-out").text = f"{c['score']:g}/{c['max_score']:g} points. {message}"
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + for_xml(ET.tostring(root, encoding="unicode")) + "\n"


def write(report, path):
    atomic_write(path, render(report))


@hookimpl
def grader_register_reporters(register):
    register("junit", write)
