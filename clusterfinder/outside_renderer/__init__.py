"""A second, independent renderer of PAndAS-like *g*/*i* fields, built on GalSim.

This subpackage exists to test models on fields rendered by code other than the
simulator they were trained on (`clusterfinder.simulate`), so that "trained on one
renderer, tested on another" is measured inside the project. It must never be used to
train the bundled models. It does not import `clusterfinder.simulate` and shares none
of its code, only the published numbers both follow.

`render_outside_field` writes a *g* and an *i* FITS image and a truth table;
`OutsideField` describes what was written. The work is split in three modules:
``population`` draws the objects, ``psf`` the point-spread functions and ``render``
the pixels, noise and files.
"""

try:
    import galsim  # noqa: F401
except ImportError as exc:  # pragma: no cover - galsim comes with the test extras
    raise ImportError(
        "clusterfinder.outside_renderer needs GalSim: pip install galsim "
        "(or the test extras: pip install 'clusterfinder[test]')"
    ) from exc

from .render import OutsideField, render_outside_field

__all__ = ["OutsideField", "render_outside_field"]
