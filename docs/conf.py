"""Sphinx configuration of the clusterfinder documentation."""

import datetime
import os
import warnings
from importlib import metadata

from sphinx_astropy.conf.v2 import *  # noqa: F403
from sphinx_astropy.conf.v2 import exclude_patterns, extensions, intersphinx_mapping

project = "clusterfinder"
author = "The clusterfinder developers"
copyright = f"2026-{datetime.date.today().year}, {author}"
release = metadata.version("clusterfinder")
version = ".".join(release.split(".")[:2])

extensions += ["sphinx_gallery.gen_gallery", "myst_parser"]

# Cross-links to the libraries whose types appear in our interfaces. Builds on
# machines without a network (our CI) pass ``-D disable_intersphinx=1``.
intersphinx_mapping.update(
    {
        "torch": ("https://docs.pytorch.org/docs/stable/", None),
        "torchvision": ("https://docs.pytorch.org/vision/stable/", None),
        "regions": ("https://astropy-regions.readthedocs.io/en/stable/", None),
        "photutils": ("https://photutils.readthedocs.io/en/stable/", None),
        "astroquery": ("https://astroquery.readthedocs.io/en/latest/", None),
        "pooch": ("https://www.fatiando.org/pooch/latest/", None),
        "dask": ("https://docs.dask.org/en/stable/", None),
        "distributed": ("https://distributed.dask.org/en/stable/", None),
    }
)

exclude_patterns += ["_build", "**.ipynb_checkpoints", "gallery/*.ipynb", "gallery/*.py"]

html_theme_options = {
    "github_url": "https://github.com/clusterfinder/clusterfinder",
    "use_edit_page_button": False,
}
html_title = f"{project} v{release}"
html_show_sourcelink = False

# The gallery: every script in examples/ runs during the build, offline and
# with small settings, so what the docs show is what the code does.
sphinx_gallery_conf = {
    "examples_dirs": os.path.join("..", "examples"),
    "gallery_dirs": "gallery",
    "filename_pattern": r"/(plot_|reproduce_)",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "reference_url": {"clusterfinder": None},
}

# Examples run torch on the CPU; keep their thread count to the machine's.
os.environ.setdefault("OMP_NUM_THREADS", "2")

# Warnings are errors in our builds; a matplotlib backend warning from the
# gallery's headless rendering is not ours to fix.
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")


# CandidateCatalog.read/write are astropy's unified I/O descriptors
# (astropy.io.registry.UnifiedReadWriteMethod), which autodoc, reading the class
# __dict__, cannot take a signature of: give it the one they have through the class,
# QTable's (*args, **kwargs).
def _unified_io_signature(self, *args, **kwargs):  # pragma: no cover - docs only
    raise TypeError("documentation stand-in; use CandidateCatalog.read/write")


from astropy.io.registry.interface import UnifiedReadWriteMethod

UnifiedReadWriteMethod.__call__ = _unified_io_signature
