"""Tests of ``clusterfinder inspect``."""

import argparse
import json
import signal
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from clusterfinder.cli import inspect as inspect_cli
from clusterfinder.inspect import catalog_id, read_decisions


def parse(argv):
    parser = argparse.ArgumentParser()
    inspect_cli.add_parser(parser.add_subparsers())
    return parser.parse_args(["inspect", *argv])


@pytest.fixture
def field(catalog, tmp_path):
    """A catalogue file and g/i images covering all but its last candidate."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [10.68, 41.27]
    wcs.wcs.crpix = [40.5, 40.5]
    wcs.wcs.cdelt = [-0.186 / 3600, 0.186 / 3600]
    rng = np.random.default_rng(0)
    images = {}
    for band in ("g", "i"):
        header = wcs.to_header()
        header["PHOTZP"] = 30.0
        images[band] = tmp_path / f"f_{band}.fits"
        data = rng.normal(0, 1, (80, 80)).astype(np.float32)
        fits.PrimaryHDU(data, header=header).writeto(images[band])
    table = catalog[:3]
    table["coord"] = wcs.pixel_to_world([20, 40, 900], [20, 40, 40])
    path = tmp_path / "cands.ecsv"
    table.write(path)
    return path, images, table


def test_writes_a_page_beside_the_catalogue(field, capsys):
    path, images, table = field
    args = parse([str(path), "--images", f"g={images['g']}", f"i={images['i']}", "--no-progress"])
    assert args.func(args) == 0
    page = path.with_name("cands_inspection.html")
    assert "wrote" in capsys.readouterr().out
    text = page.read_text()
    assert catalog_id(table) in text
    data = json.loads(text.split('type="application/json">')[1].split("</script>")[0])
    assert data["stamps"][0] is not None and data["stamps"][2] is None
    # run again: the page is not replaced without --overwrite
    with pytest.raises(FileExistsError, match=r"cands_inspection\.html' exists; pass --overwrite"):
        args.func(args)
    args = parse([str(path), "--images", f"g={images['g']}", f"i={images['i']}", "--overwrite"])
    assert args.func(args) == 0


def test_zero_points_option(field, tmp_path):
    path, images, _ = field
    bare = {}
    for band, image in images.items():  # the same images without PHOTZP
        with fits.open(image) as hdul:
            header = hdul[0].header.copy()
            del header["PHOTZP"]
            bare[band] = tmp_path / f"bare_{band}.fits"
            fits.PrimaryHDU(hdul[0].data, header=header).writeto(bare[band])
    argv = [str(path), "--images", f"g={bare['g']}", f"i={bare['i']}", "--no-progress"]
    with pytest.raises(ValueError, match=r"no photometric zero point .*zero_points="):
        inspect_cli.run(parse([*argv, "--output", str(tmp_path / "a.html")]))
    assert not (tmp_path / "a.html").exists()
    args = parse([*argv, "--output", str(tmp_path / "a.html"), "--zero-points", "g=30", "i=30"])
    assert args.func(args) == 0
    with pytest.raises(ValueError, match="--zero-points: 'x' is not a number"):
        inspect_cli.run(parse([*argv, "--output", str(tmp_path / "b.html"), "--zero-points", "x"]))


def test_bad_arguments(field, tmp_path):
    path, images, _ = field
    with pytest.raises(ValueError, match="BAND=FILE"):
        inspect_cli.run(parse([str(path), "--images", str(images["g"])]))
    with pytest.raises(OSError, match="no such file"):
        inspect_cli.run(parse([str(path), "--images", "g=missing.fits"]))
    with pytest.raises(ValueError, match="twice"):
        inspect_cli.run(parse([str(path), "--images", f"g={images['g']}", f"g={images['i']}"]))
    with pytest.raises(OSError, match="no such catalogue"):
        inspect_cli.run(parse([str(tmp_path / "none.ecsv")]))


def test_serve_writes_decisions(field, tmp_path):
    path, _, table = field
    page = tmp_path / "p.html"
    decisions = tmp_path / "d.json"
    # Ctrl-C as in a terminal: a shell that starts a job in the background (as a CI
    # script may run the tests) passes SIGINT ignored to its children, and Python then
    # leaves it ignored; the server is given Python's usual Ctrl-C handler back.
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler);"
        "import sys; from clusterfinder.cli.inspect import *; import argparse;"
        "p = argparse.ArgumentParser(); add_parser(p.add_subparsers());"
        "a = p.parse_args(['inspect'] + sys.argv[1:]); sys.exit(a.func(a))"
    )
    # -X faulthandler: a server that does not stop can be asked for its stacks (SIGABRT).
    command = [sys.executable, "-X", "faulthandler", "-c", code, str(path), "--serve"]
    command += ["--no-progress"]
    command += ["--output", str(page), "--decisions", str(decisions)]
    errors = (tmp_path / "stderr.txt").open("w")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
    try:
        url = None
        for line in process.stdout:
            if line.startswith("serving "):
                url = line.split()[1]
                break
        assert url is not None, "the server did not start"
        body = json.dumps({"id": "C0001", "decision": "cluster"}).encode()
        with urllib.request.urlopen(url + "api/decision", body, timeout=10) as reply:
            assert reply.status == 200
        assert read_decisions(decisions, table).labels() == {"C0001": "cluster"}
        # Ctrl-C is how the server is stopped: one line, what is on disk, status 0
        process.send_signal(signal.SIGINT)
        try:
            status = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            process.wait(timeout=20)
            errors.flush()
            pytest.fail(
                "the server did not stop within 20 s of Ctrl-C; its threads were at:\n"
                + (tmp_path / "stderr.txt").read_text()
            )
        assert status == 0, (tmp_path / "stderr.txt").read_text()
        last = process.stdout.read().strip().splitlines()[-1]
        assert last == f"stopped; 1 decision(s) in {decisions}"
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)
        process.stdout.close()
        errors.close()
