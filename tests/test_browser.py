"""The HTML report and the class dashboard in a real headless browser (Debian's chromium; `.ci/run`
installs it): no console errors, the chart drawn on screen. Screenshots are kept in
GRADER_SCREENSHOTS (default: test-artifacts/ in the repository) for CI to upload."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import EXERCISES, ROOT, run_cli

CHART_BLUE = (0x1F, 0x5F, 0xBF)  # the first series colour of the curves and the dashboard's bars


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    raise AssertionError("No chromium found: install Debian's chromium (apt-get install chromium), as .ci/run does.")


def screenshot(page: Path, name: str) -> tuple[Path, list[str]]:
    """Load ``page`` in headless chromium; returns the screenshot and the console messages it logged."""
    shots = Path(os.environ.get("GRADER_SCREENSHOTS", ROOT / "test-artifacts"))
    shots.mkdir(parents=True, exist_ok=True)
    png = shots / f"{name}.png"
    png.unlink(missing_ok=True)
    done = subprocess.run([browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--enable-logging=stderr", "--v=0", "--window-size=1000,1800",
                           f"--screenshot={png}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert png.is_file(), done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return png, console


def blue_pixels(png: Path) -> int:
    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)
    return int((np.abs(pixels - np.array(CHART_BLUE)) <= 12).all(axis=-1).sum())


def test_console_errors_are_caught(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>console.error('boom')</script></body></html>")
    png, console = screenshot(page, "control-console-error")
    assert any('"boom"' in line for line in console)
    assert blue_pixels(png) == 0  # and a page without a chart shows none of its colour


def test_the_report_renders_with_its_chart_and_no_console_errors(tmp_path):
    html = tmp_path / "report.html"
    result = run_cli("grade", "hello_world", EXERCISES / "hello_world" / "solution.py", "--html", html)
    assert result.exit_code == 0
    png, console = screenshot(html, "report-hello_world")
    assert console == []
    assert blue_pixels(png) > 300  # the loss curve is drawn (a 500-epoch line in the first colour)


def test_the_dashboard_renders_with_its_distribution_and_no_console_errors(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("ana", "ben", "cem"):
        (subs / f"{name}.py").write_text("x = (\n")
    assert run_cli("batch", "hello_world", subs, "--out", tmp_path / "out").exit_code == 0
    png, console = screenshot(tmp_path / "out" / "index.html", "dashboard")
    assert console == []
    assert blue_pixels(png) > 300  # the score distribution's bar


MEASURE = """<script>
for (const svg of document.querySelectorAll('svg.chart')) {
  const boxes = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBBox()]);
  console.log('TEXTS ' + boxes.length);
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [na, a] = boxes[i], [nb, b] = boxes[j];
    if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height)
      console.log('OVERLAP ' + na + ' / ' + nb);
  }
}
</script></body>"""


def test_no_two_labels_of_a_chart_overlap_in_the_browser(tmp_path, standin):
    html = tmp_path / "report.html"
    run_cli("grade", "fashion_mnist_callback", EXERCISES / "fashion_mnist_callback" / "solution.py",
            "--data-dir", standin, "--html", html)
    measured = tmp_path / "measured.html"
    measured.write_text(html.read_text().replace("</body>", MEASURE))
    _, console = screenshot(measured, "report-fashion_mnist_callback")
    counts = [int(line.split("TEXTS ")[1].split('"')[0]) for line in console if "TEXTS " in line]
    # both charts measured: y ticks, an x tick per epoch, the stop marker (and the accuracy threshold); on
    # the full-size stand-in the solution's callback stops after 2 or 3 epochs (the batches' order decides)
    assert len(counts) == 2 and min(counts) >= 7
    assert [line for line in console if "OVERLAP" in line] == []
