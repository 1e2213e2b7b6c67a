"""VizieR's online path with a recorded answer parsed by astroquery's own parser.

astroquery.vizier is used for real: only its HTTP request is replaced (the way
astroquery's tests do it) by one that answers with a VOTable saved under
tests/data/archive, hand-made in VizieR's format (see the README there).
"""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astroquery.utils.mocks import MockResponse

from clusterfinder.labels.readers import read_phat_ap
from clusterfinder.labels.vizier import get_vizier_table

DATA = Path(__file__).parent.parent / "data" / "archive"


class _Sent(list):
    """The requests received, with the answer to give (``answer["body"]``)."""


@pytest.fixture
def recorded_vizier(monkeypatch):
    """Replace VizieR's HTTP request; return the list of requests it received."""
    from astroquery.vizier.core import VizierClass

    sent = _Sent()
    answer = {"body": (DATA / "vizier_phat_table2.xml").read_bytes()}

    def request(self, method, url, *, data=None, timeout=None, cache=None, **kwargs):
        sent.append({"method": method, "url": url, "data": data, "cache": cache})
        return MockResponse(answer["body"], url=url)

    monkeypatch.setattr(VizierClass, "_request", request)
    sent.answer = answer
    return sent


def test_recorded_answer_through_astroquery_parser(recorded_vizier):
    table = get_vizier_table("J/ApJ/802/127", table="table2")
    assert len(table) == 4 and "RAdeg" in table.colnames
    assert table["RAdeg"].unit == u.deg and table["Reff"].unit == u.arcsec
    # The request asked VizieR for the catalogue, all rows, all columns.
    (request,) = recorded_vizier
    assert request["method"] == "POST" and request["url"].endswith("/viz-bin/votable")
    body = request["data"]
    assert "-source=J/ApJ/802/127" in body and "-out.max=unlimited" in body
    assert "-out.all" in body.split("\n")  # columns=["**"]: every column


def test_recorded_answer_through_the_phat_reader(recorded_vizier):
    phat = read_phat_ap(online=True)
    assert list(phat["name"]) == ["1", "2", "3", "4"]
    assert phat.meta["origin"] == "VizieR J/ApJ/802/127/table2"
    # The same clusters in the bundled transcription of the CDS file agree.
    local = read_phat_ap()
    for row in phat:
        match = local[local["name"] == row["name"]][0]
        assert row["coord"].separation(match["coord"]) < 0.01 * u.arcsec
        assert float(row["mag_f475w"]) == pytest.approx(float(match["mag_f475w"]))
        assert row["alt_name"] == match["alt_name"]
    # Upper limits (l_F110W = ">") are masked and flagged, as in the local reader.
    assert phat["uplim_f110w"].tolist() == [False, True, True, False]
    assert np.ma.is_masked(phat["mag_f110w"][1]) and not np.ma.is_masked(phat["mag_f110w"][0])
    assert phat["uplim_f110w"].tolist() == [bool(v) for v in local["uplim_f110w"][:4]]
    assert np.isnan(np.ma.filled(phat["magerr_f160w"][2], np.nan))


def test_recorded_answer_without_coordinates_names_the_column(recorded_vizier):
    recorded_vizier.answer["body"] = (DATA / "vizier_phat_table2_no_coordinates.xml").read_bytes()
    with pytest.raises(ValueError, match=r"right ascension column: expected one of .* found"):
        read_phat_ap(online=True)


def test_answer_that_is_not_a_votable(recorded_vizier):
    recorded_vizier.answer["body"] = b"<html><body>502 Bad Gateway</body></html>"
    with pytest.raises(OSError, match="VizieR did not answer J/ApJ/802/127 with a VOTable"):
        get_vizier_table("J/ApJ/802/127", table="table2")


def test_broken_votable_is_an_oserror(recorded_vizier):
    recorded_vizier.answer["body"] = b'<?xml version="1.0"?><VOTABLE><RESOURCE><TABLE>'
    with pytest.raises(OSError, match="could not fetch J/ApJ/802/127 from VizieR"):
        get_vizier_table("J/ApJ/802/127", table="table2")
