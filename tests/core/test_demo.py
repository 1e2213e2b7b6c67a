import numpy as np
import pytest
from astropy.table import QTable

from clusterfinder import CandidateCatalog, cli
from clusterfinder.demo import run_demo, score_candidates
from clusterfinder.psf import PSFMeasurementWarning


def test_demo_writes_everything_and_scores_against_the_truth(tmp_path):
    result = run_demo(tmp_path, size=512, seed=1)
    for name in ("g", "i", "truth", "candidates", "regions", "inspection"):
        assert result["paths"][name].is_file(), name
    candidates = CandidateCatalog.read(result["paths"]["candidates"])
    assert len(candidates) == result["n_candidates"]
    assert np.all(candidates["prob_cluster"] >= result["threshold"])
    assert set(result["scores"]) == {21.0, 22.0}
    summary = result.summary()
    assert "purity" in summary and "recall" in summary


def test_demo_command_prints_a_summary(tmp_path, capsys):
    # A 384-pixel field holds too few bright stars to measure its PSF: the seeing-aware
    # default model says so and uses the header's seeing.
    with pytest.warns(PSFMeasurementWarning, match="using the header seeing"):
        status = cli.main(["demo", str(tmp_path / "out"), "--size", "384", "--no-progress"])
    assert status == 0
    out = capsys.readouterr().out
    assert "candidates" in out and "g < 21" in out


def test_demo_refuses_a_bad_size(tmp_path, capsys):
    assert cli.main(["demo", str(tmp_path), "--size", "0", "--no-progress"]) == 2
    assert "size" in capsys.readouterr().err


def test_score_candidates_counts_by_hand():
    truth = QTable.read(
        "\n".join(
            [
                "# %ECSV 1.0",
                "# ---",
                "# datatype:",
                "# - {name: ra, datatype: float64}",
                "# - {name: dec, datatype: float64}",
                "# - {name: kind, datatype: string}",
                "# - {name: mag_g, datatype: float64}",
                "ra dec kind mag_g",
                "10.0 41.0 young_cluster 20.0",
                "10.01 41.0 mw_star 19.0",
                "10.02 41.0 old_cluster 21.5",
                "10.03 41.0 young_cluster 20.5",
            ]
        ),
        format="ascii.ecsv",
    )
    from astropy.coordinates import SkyCoord

    truth["coord"] = SkyCoord(truth["ra"], truth["dec"], unit="deg")
    sources = QTable(
        {
            "coord": truth["coord"],
            "mag_g": truth["mag_g"],
            "prob_cluster": [0.9, 0.7, 0.8, 0.2],
        }
    )
    scores = score_candidates(sources, truth, threshold=0.5)
    # g < 21: candidates 0 (cluster) and 1 (star); clusters 0 and 3.
    assert scores[21.0]["purity"] == pytest.approx(0.5)
    assert scores[21.0]["recall"] == pytest.approx(0.5)
    # g < 22 adds the old cluster, found.
    assert scores[22.0]["purity"] == pytest.approx(2 / 3)
    assert scores[22.0]["recall"] == pytest.approx(2 / 3)
