"""The self-contained HTML report: written next to the data, names everything, images decode."""

from __future__ import annotations

import base64
import io
import re

import matplotlib.image
import pytest

from tests.experiment.conftest import small_chain
from tests.experiment.test_cli_experiments import cli

PNG = b"\x89PNG\r\n\x1a\n"


def embedded_images(page: str) -> list[bytes]:
    return [
        base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    ]


def assert_self_contained(page: str) -> None:
    assert "<html" in page and "</html>" in page
    assert not re.search(r'(src|href)="(https?:)?//', page), "the report must work offline"
    images = embedded_images(page)
    assert images
    for png in images:
        assert png[:8] == PNG
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 100 and pixels.shape[1] > 100


@pytest.fixture(scope="module")
def compare_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    path = folder / "s.toml"
    path.write_text(small_chain(duration="6s"))
    assert cli("compare {} -r 2 --workers 1 --quiet --report {}", path, folder / "report") == 0
    return folder / "report"


def test_compare_report_names_every_variant_and_embeds_its_charts(compare_report):
    folder = compare_report
    page = (folder / "report.html").read_text()
    assert_self_contained(page)
    for variant in ("ten connections", "twelve connections", "gateway retries"):
        assert variant in page
    assert len(embedded_images(page)) == 7  # bars, differences, CDF, amplification, 3 timelines
    for text in (
        "Goals",
        "p99 &lt;= 500ms",
        "Means and paired differences",
        "95% CI",
        "common random numbers",
        "numpy",
        "simpy",
        "python",
    ):
        assert text in page, text
    assert "[variants.&quot;twelve connections&quot;]" in page  # the scenario file itself
    for name in (
        "summary.json",
        "replications.csv",
        "intervals.csv",
        "differences.csv",
        "comparison.png",
        "latency_cdf.png",
        "amplification.png",
    ):
        assert (folder / name).stat().st_size > 0, name


def test_run_report(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(small_chain(duration="6s", variants=False))
    assert cli("run {} --quiet --report {}", path, tmp_path / "r") == 0
    assert "report.html" in capsys.readouterr().out
    page = (tmp_path / "r" / "report.html").read_text()
    assert_self_contained(page)
    assert len(embedded_images(page)) == 2
    for text in (
        "seed",
        "3",
        "Requests by outcome",
        "Services",
        "Hops",
        "recovery_s &lt;= 3s",
        "MISSED",
        "brownout",
    ):
        assert text in page, text
    assert (tmp_path / "r" / "summary.json").exists()


def test_sweep_report(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(small_chain(duration="6s", variants=False))
    command = "sweep {} --param services.db.connections=6,12 -r 2 --workers 1 --quiet --report {}"
    assert cli(command, path, tmp_path / "r") == 0
    page = (tmp_path / "r" / "report.html").read_text()
    assert_self_contained(page)
    assert "services.db.connections" in page and "goodput" in page
    assert (tmp_path / "r" / "sweep.csv").exists()
