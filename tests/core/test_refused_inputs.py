"""What clusterfinder refuses, and how it says so (issue #13).

Bad input must end in one sentence that names the input, the value and what was
expected, not in a traceback from deep inside numpy, astropy or wcslib. Each group
below is one kind of bad input; every test here failed before the input was checked.
"""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from astropy.wcs import WCS
from cutout_helpers import make_wcs

from clusterfinder import CandidateCatalog, Cutout
from clusterfinder.catalog.matching import crossmatch, deduplicate
from clusterfinder.crossmatch import friends_of_friends, match_nearest
from clusterfinder.datasets import label_from_truth
from clusterfinder.detection import load_images
from clusterfinder.images import ZERO_POINT_RANGE, check_wcs, load_band
from clusterfinder.inspect import apply_decisions, catalog_id, read_decisions
from clusterfinder.labels import LabelSet
from clusterfinder.simulate import PANDAS, PSFShape, simulate_field, write_field
from clusterfinder.utils import ClusterFinderWarning

NAN = float("nan")


def sky(ra, dec):
    return SkyCoord(np.asarray(ra, float) * u.deg, np.asarray(dec, float) * u.deg)


def image_header(**cards):
    head = make_wcs().to_header()
    head["PHOTZP"] = 30.0
    for key, value in cards.items():
        if value is None:
            del head[key]
        else:
            head[key] = value
    return head


# -- positions that are not finite -----------------------------------------------------------

HOLEY = sky([10.0, NAN, 10.2, 10.3], [41.0, 41.1, NAN, 41.3])


def test_nan_positions_in_labels_are_named_with_their_rows():
    labels = LabelSet(QTable({"coord": HOLEY, "label": [1, 0, 1, 0]}))
    with pytest.raises(ValueError, match=r"LabelSet to split .* 2 positions .* rows \[1, 2\]"):
        labels.split((0.5, 0.5))
    with pytest.raises(ValueError, match=r"positives\[0\] \(column 'coord'\) has 2 positions"):
        LabelSet.from_catalogs([QTable({"coord": HOLEY})])
    table = QTable({"RAdeg": [10.0, NAN], "DEdeg": [41.0, 41.0]})
    with pytest.raises(ValueError, match=r"negatives\[0\]: 1 row\(s\) have no valid position"):
        LabelSet.from_catalogs(None, [table])


def test_nan_positions_in_crossmatching_are_named():
    good = sky([10.0, 10.1], [41.0, 41.0])
    with pytest.raises(ValueError, match=r"coords has 2 positions that are not finite"):
        friends_of_friends(HOLEY, 1 * u.arcsec)
    with pytest.raises(ValueError, match=r"catalog_coords has 2 positions .* rows \[1, 2\]"):
        match_nearest(good, HOLEY, 1 * u.arcsec)
    cands = CandidateCatalog.from_table(QTable({"coord": HOLEY, "prob_cluster": [0.5] * 4}))
    with pytest.raises(ValueError, match=r"catalogue to deduplicate .* not finite"):
        deduplicate(cands, 1 * u.arcsec)
    with pytest.raises(ValueError, match=r"the candidates .* not finite"):
        crossmatch(cands, {"rbc": good})
    fine = CandidateCatalog.from_table(QTable({"coord": good, "prob_cluster": [0.5, 0.6]}))
    with pytest.raises(ValueError, match=r"catalogue 'rbc' has 2 positions"):
        crossmatch(fine, {"rbc": HOLEY})


def test_nan_positions_in_an_inspected_catalogue_are_named():
    table = QTable({"coord": HOLEY})
    with pytest.raises(ValueError, match=r"inspected catalogue .* at candidates \[1, 2\]"):
        catalog_id(table)
    record = {"format": "clusterfinder-inspection", "version": 1, "catalog_id": "0" * 64,
              "decisions": {}}  # fmt: skip
    with pytest.raises(ValueError, match="not finite"):
        apply_decisions(table, record)


def test_dec_out_of_range_is_said_so_not_no_positions():
    table = QTable({"RAdeg": [10.0, 10.1], "DEdeg": [41.0, 141.0]})
    with pytest.raises(ValueError, match=r"positives\[0\]: column 'DEdeg' holds a Dec of 141"):
        LabelSet.from_catalogs([table])
    cands = CandidateCatalog.from_table(
        QTable({"coord": sky([10.0], [41.0]), "prob_cluster": [0.5]})
    )
    with pytest.raises(ValueError, match=r"catalogue 'known': column 'DEdeg' holds a Dec of 141"):
        crossmatch(cands, {"known": table})


# -- zero points -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", -99.0, 0.0, 1000.0])
def test_implausible_header_zero_points_are_refused_naming_file_and_keyword(tmp_path, value):
    path = tmp_path / "odd_g.fits"
    fits.PrimaryHDU(np.ones((20, 20), np.float32), header=image_header(PHOTZP=value)).writeto(path)
    expected = rf"odd_g\.fits\[0\]\): header keyword PHOTZP = {value!r} is not"
    with pytest.raises(ValueError, match=expected):
        load_band(path, "g")
    with pytest.raises(ValueError, match=expected):
        Cutout.from_images({"g": path}, [(5.0, 5.0)], cutout_size=3)
    # A zero point given explicitly replaces the header's.
    image = load_band(path, "g", zero_point=27.5)
    assert image.zero_point == 27.5
    image.close()
    cut = Cutout.from_images({"g": path}, [(5.0, 5.0)], cutout_size=3, zero_points=30)
    assert cut.data.sum() == 9


def test_implausible_explicit_zero_points_are_refused():
    low, high = ZERO_POINT_RANGE
    assert low <= 30 <= high
    data = (np.zeros((8, 8)), make_wcs())
    for value in (-99, 0, 1000, NAN):
        with pytest.raises(ValueError, match=rf"the zero point given for band 'g' = {value}"):
            load_images({"g": data}, zero_points=value)


def _entry_points():
    """Every function that reads images, called on ``images`` with ``zero_points``."""
    from clusterfinder.detection import detect_sources
    from clusterfinder.scan import TiledImages, find_candidates

    class Model:  # the least a search needs of a classifier
        bands, cutout_size, threshold = ("g",), 3, 0.5

        def __init__(self):
            self.source_metadata = {"name": "m", "sha256": "0" * 64}

        def predict_proba(self, cutout, **kwargs):
            return np.zeros(len(cutout))

    positions = make_wcs().pixel_to_world([5.0], [5.0])
    return {
        "Cutout.from_images": lambda images, **kw: Cutout.from_images(
            images, positions, cutout_size=3, **kw
        ),
        "detect_sources": lambda images, **kw: detect_sources(images, **kw),
        "find_candidates": lambda images, **kw: find_candidates(
            Model(), images, QTable({"coord": positions}), **kw
        ),
        "TiledImages": lambda images, **kw: TiledImages(images, **kw).close(),
    }


@pytest.mark.parametrize("entry", list(_entry_points()))
def test_one_zero_point_policy_for_every_image_reader(tmp_path, entry):
    call = _entry_points()[entry]
    path = tmp_path / "bare_g.fits"
    image = np.random.default_rng(1).normal(0.0, 1.0, (20, 20)).astype(np.float32)
    fits.PrimaryHDU(image, header=image_header(PHOTZP=None)).writeto(path)
    # A FITS image without a zero point is refused by every entry point, alike.
    with pytest.raises(ValueError, match=r"no photometric zero point for band 'g' .*zero_points="):
        call({"g": path})
    # ... and read by all of them once one is given, as a number or per band.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterFinderWarning)  # empty detections
        call({"g": path}, zero_points=30)
        call({"g": path}, zero_points={"g": 30})
    # A zero point for a band that is not there, or that is not a number, is refused.
    with pytest.raises(ValueError, match=r"zero_points names band\(s\) \['r'\]"):
        call({"g": path}, zero_points={"r": 30})
    with pytest.raises(TypeError, match=r"zero_points must be None, a number"):
        call({"g": path}, zero_points="30")
    with pytest.raises(ValueError, match=r"the zero point given for band 'g' = -99"):
        call({"g": path}, zero_points=-99)


# -- world coordinate systems ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cards", "message"),
    [
        ({"CD1_1": 0.0, "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": 0.0}, r"singular: its CD matrix"),
        ({"CD1_1": 1e-5, "CD1_2": 1e-5, "CD2_1": 1e-5, "CD2_2": 1e-5}, r"singular: its CD"),
        ({"CRVAL1": "NAN"}, r"header keyword CRVAL1 = 'NAN' is not a finite number"),
        ({"CRVAL2": 141.0}, r"Dec 141 deg .* between -90 and \+90"),
    ],
)
def test_invalid_header_wcs_is_refused_naming_the_image(tmp_path, cards, message):
    path = tmp_path / "bad_wcs_g.fits"
    fits.PrimaryHDU(np.ones((20, 20), np.float32), header=image_header(**cards)).writeto(path)
    with pytest.raises(ValueError, match=r"the WCS of images\['g'\] \(bad_wcs_g.fits\[0\]\)"):
        load_band(path, "g")
    with pytest.raises(ValueError, match=message):
        Cutout.from_images({"g": path}, [(5.0, 5.0)], cutout_size=3)


def test_zero_cdelt_in_a_header_is_refused(tmp_path):
    head = image_header(CDELT1=0.0)  # PCi_j and CDELTi
    with pytest.raises(ValueError, match=r"singular: header keyword CDELT1 = 0"):
        load_band(fits.PrimaryHDU(np.ones((9, 9)), header=head), "g")


def _wcs(**attributes):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.0, 41.0]
    wcs.wcs.cdelt = [-5e-5, 5e-5]
    for name, value in attributes.items():
        setattr(wcs.wcs, name, value)
    return wcs


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"cd": np.zeros((2, 2))}, r"singular: its linear part \(CD\)"),
        ({"cdelt": [0.0, 5e-5]}, r"singular: its linear part \(CDELT x PC\)"),
        ({"pc": np.ones((2, 2))}, r"singular"),
        ({"crval": [NAN, 41.0]}, r"CRVAL = \[nan, 41.0\] is not finite"),
        ({"crval": [10.0, 141.0]}, r"Dec 141 deg \(CRVAL2\)"),
    ],
)
def test_invalid_wcs_objects_are_refused(attributes, message):
    data = np.ones((9, 9))
    with pytest.raises(ValueError, match=rf"the WCS of images\['g'\] .*{message}"):
        load_band((data, _wcs(**attributes)), "g", zero_point=30)
    with pytest.raises(ValueError, match=message):
        Cutout(np.ones((2, 1, 3, 3)), bands="g", wcs=[None, _wcs(**attributes)])
    with pytest.raises(ValueError, match=message):
        check_wcs(_wcs(**attributes), "x")


# -- files that are truncated or of another kind ----------------------------------------------


def _truncate(path, fraction):
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * fraction)])
    return path


def _binary(path):
    path.write_bytes(bytes(range(256)) * 8)
    return path


def _catalog():
    coords = sky([10.0, 10.1, 10.2], [41.0, 41.0, 41.0])
    return CandidateCatalog.from_table(QTable({"coord": coords, "prob_cluster": [0.5, 0.6, 0.7]}))


@pytest.mark.parametrize("suffix", [".ecsv", ".fits", ".xml"])
def test_truncated_or_binary_catalogue_files_are_named(tmp_path, suffix):
    path = tmp_path / f"cands{suffix}"
    _catalog().write(path)
    _truncate(path, 0.5)
    with pytest.raises((ValueError, OSError), match=rf"cannot read {path} as an? \w+ candidate"):
        CandidateCatalog.read(path)
    other = _binary(tmp_path / f"noise{suffix}")
    with pytest.raises((ValueError, OSError), match=rf"cannot read {other} as an? \w+ candidate"):
        CandidateCatalog.read(other)


def test_foreign_files_as_catalogues(tmp_path):
    stamps = tmp_path / "stamps.fits"
    Cutout(np.ones((2, 1, 3, 3)), bands="g").write(stamps)
    with pytest.raises(ValueError, match=r"stamps.fits .* no table extension"):
        CandidateCatalog.read(stamps)
    labels = tmp_path / "labels.ecsv"
    LabelSet(QTable({"coord": sky([1, 2], [3, 4]), "label": [1, 0]})).write(labels)
    with pytest.raises(ValueError, match=r"labels.ecsv is not a candidate catalogue: .*prob"):
        CandidateCatalog.read(labels)


def test_truncated_or_foreign_cutout_files_are_named(tmp_path):
    path = tmp_path / "stamps.fits"
    Cutout(np.ones((3, 2, 5, 5)), bands=("g", "i")).write(path)
    raw = path.read_bytes()
    for fraction in (0.4, 0.7):
        path.write_bytes(raw[: int(len(raw) * fraction)])
        with pytest.raises(OSError, match=r"stamps.fits' as a clusterfinder Cutout file: it is"):
            Cutout.read(path)
    with pytest.raises(OSError, match=r"noise.fits' as a clusterfinder Cutout file: it is not"):
        Cutout.read(_binary(tmp_path / "noise.fits"))
    head = fits.PrimaryHDU()
    head.header["CFTYPE"] = "CUTOUT"
    head.writeto(tmp_path / "bare.fits")
    with pytest.raises(ValueError, match=r"bare.fits' .* lacks the keyword NSTAMP"):
        Cutout.read(tmp_path / "bare.fits")


def test_truncated_or_foreign_label_files_are_named(tmp_path):
    path = tmp_path / "labels.ecsv"
    LabelSet(QTable({"coord": sky([1, 2], [3, 4]), "label": [1, 0]})).write(path)
    _truncate(path, 0.5)
    with pytest.raises(ValueError, match=rf"cannot read {path} as a LabelSet: .*LabelSet.write"):
        LabelSet.read(path)
    noise = _binary(tmp_path / "noise.ecsv")
    with pytest.raises(ValueError, match=rf"cannot read {noise} as a LabelSet: it is not text"):
        LabelSet.read(noise)
    cands = tmp_path / "cands.ecsv"
    _catalog().write(cands)
    with pytest.raises(ValueError, match=r"cands.ecsv is not a LabelSet file: .*'label'"):
        LabelSet.read(cands)


def test_truncated_or_foreign_decision_files_are_named(tmp_path):
    noise = _binary(tmp_path / "noise.json")
    with pytest.raises(ValueError, match=r"noise.json is not a decision file: it is not text"):
        read_decisions(noise)
    cut = tmp_path / "cut.json"
    cut.write_text('{"format": "clusterfinder-inspection", "version": 1, "catal')
    with pytest.raises(ValueError, match=r"cut.json is not a decision file: .*truncated"):
        read_decisions(cut)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        read_decisions(tmp_path)


# -- magnitudes with units -------------------------------------------------------------------


def test_magnitude_limits_take_mag_and_abmag_quantities():
    coords = sky([10.0, 10.1, 10.2], [41.0, 41.0, 41.0])
    labels = LabelSet(QTable({"coord": coords, "label": [1, 0, 1], "mag_g": [20.0, 21.0, 22.0]}))
    for limit in (21, 21 * u.mag, 21 * u.ABmag):
        assert len(labels.select(mag_max={"g": limit})) == 2
        assert len(labels.select(mag_min={"g": limit})) == 2
    with pytest.raises(ValueError, match=r"mag_max\['g'\] must be an AB magnitude .* mag\(ST\)"):
        labels.select(mag_max={"g": 21 * u.STmag})
    cands = CandidateCatalog.from_table(
        QTable({"coord": coords, "prob_cluster": [0.9] * 3, "mag_g": [20.0, 21.0, 22.0]})
    )
    for limit in (21 * u.mag, 21 * u.ABmag):
        assert len(cands.select(mag_max={"g": limit})) == 2
    with pytest.raises(ValueError, match=r"mag_max\['g'\] must be an AB magnitude .* Jy"):
        cands.select(mag_max={"g": 21 * u.Jy})
    truth = QTable({"coord": coords, "kind": ["young_cluster"] * 3, "mag_g": [20.0, 21, 22]})
    _, label, _ = label_from_truth(QTable({"coord": coords}), truth, mag_max=21 * u.ABmag)
    assert label.tolist() == [1, 1, 0]


# -- simulations that cannot fit --------------------------------------------------------------


def test_psf_wider_than_the_image_is_refused():
    with pytest.raises(ValueError, match=r"simulate_field: fwhm of 20 arcsec in band 'g' is 108"):
        simulate_field(size=64, fwhm=20 * u.arcsec)
    with pytest.raises(ValueError, match=r"fwhm of 50 arcsec in band 'i' .* wider than the image"):
        simulate_field(size=64, fwhm={"i": 50 * u.arcsec})


def test_simulations_that_cannot_fit_in_memory_are_refused_with_the_estimate(tmp_path, monkeypatch):
    # 1000 arcsec = 5376 pixels: two PSF tables of ~122 TiB each (more than any machine).
    with pytest.raises(ValueError, match=r"write_field: a 20000 x 20000 field would need ~244 TiB"):
        write_field(tmp_path, size=20000, fwhm=1000 * u.arcsec)
    assert not any(tmp_path.iterdir())
    import clusterfinder.simulate._limits as limits

    monkeypatch.setattr(limits, "available_memory", lambda: 1 << 20)
    with pytest.raises(
        ValueError, match=r"simulate_field: a 1024 x 1024 field would need ~1\d\d MiB"
    ):
        simulate_field(size=1024, seed=0)
    # Where the images are most of it, the message points to write_field.
    with pytest.raises(ValueError, match=r"2 image\(s\) of 20000 x 20000 .* or write_field"):
        limits.check_simulation_limits("simulate_field", 20000, PANDAS)
    # The PAndAS seeing (3.6 pixels) needs a table of ~60 MiB.
    assert limits.estimate_psf_table_bytes(3.6, PSFShape("moffat", beta=3.0)) < 100 << 20


def test_cli_simulate_refuses_a_huge_fwhm_in_one_line(tmp_path, capsys):
    import clusterfinder.cli as cli

    status = cli.main(["simulate", str(tmp_path / "out"), "--size", "256", "--fwhm", "1000"])
    assert status != 0
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "fwhm of 1000 arcsec" in err and "wider than" in err


# -- labels: unknown kinds, and splits without a class -----------------------------------------


def _truth():
    kinds = ["young_cluster", "mw_star", "galaxy", "old_cluster"]
    return QTable({"coord": sky([10.0, 10.1, 10.2, 10.3], [41.0] * 4), "kind": kinds})


def test_unknown_kinds_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"positive_kinds names unknown kind\(s\) \['young_clust"):
        LabelSet.from_truth(_truth(), positive_kinds=("young_clusters",))
    with pytest.raises(
        ValueError, match=r"known kinds are mw_star, .*did you mean 'young_cluster'"
    ):
        LabelSet.from_truth(_truth(), kinds=("young_clusters", "galaxy"))
    with pytest.raises(TypeError, match="positive_kinds must be"):
        LabelSet.from_truth(_truth(), positive_kinds=[1])
    # Known kinds absent from this truth are fine (a field without old clusters).
    assert LabelSet.from_truth(_truth(), positive_kinds="hii_region").n_positive == 0


def test_split_warns_of_parts_without_a_class_and_refuses_empty_parts():
    table = QTable({"coord": sky([10.0, 10.1, 10.2, 10.3], [41.0] * 4), "label": [0, 0, 0, 1]})
    labels = LabelSet(table)
    with pytest.warns(ClusterFinderWarning, match=r"part 'test' has 0 cluster\(s\) and 1 non"):
        labels.split((0.5, 0.5), seed=0)
    with pytest.raises(ValueError, match=r"part 'validation' \(fraction 0.1\) would get no obj"):
        labels.split((0.9, 0.1, 0.0), seed=0)
    # A fraction of 0 asks for an empty part: no complaint.
    with pytest.warns(ClusterFinderWarning, match=r"has 0 cluster\(s\) and \d non-cluster"):
        train, validation, test = labels.split((0.5, 0.5, 0.0), seed=0)
    assert len(test) == 0 and len(train) + len(validation) == 4
