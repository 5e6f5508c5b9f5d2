"""Reporter ``html``: a self-contained feedback page (jinja2, inline SVG charts, no network)."""

from grader.chart import training_charts
from grader.hookspecs import hookimpl
from grader.output import atomic_write
from grader.templating import environment


def render(report, template: str = "report.html") -> str:
    data = report.to_dict()
    charts = training_charts(data["training"]["fits"], data["training"].get("thresholds"),
                             [d["marker"] for d in data["diagnoses"] if d.get("marker")])
    return environment().get_template(template).render(r=data, charts=charts)


def write(report, path):
    atomic_write(path, render(report))


@hookimpl
def grader_register_reporters(register):
    register("html", write)
