"""Young stellar associations: the clumps of bright blue stars that look like clusters.

Young massive stars are not spread at random over a star-forming disc: they are born
in groups that are not bound and disperse within a few tens of Myr. Magnier et al.
(1993, A&A 278, 36) found 174 OB associations in part of M31's disc and extrapolate to
about 420 over the whole galaxy, with a mean size of about 90 pc; inside them young
stars gather again in sub-groups a few parsecs across (Battinelli, Efremov & Magnier
1996, A&A 314, 51: the arrangement is hierarchical). Seen from the ground at 0.6", a
sub-group of five bright blue stars within 2" is one lumpy extended source, which is
why surveys took many of them for clusters (the "Stellar" objects of the M33 cluster
catalogue of Sarajedini & Mancone 2007 are such cases).

`draw_association` draws one association: members from the bright end of the young
disc population, most of them in a few sub-groups, the rest spread over the whole
association, and for each sub-group a faint smooth component standing for its
unresolved fainter members. The simulator (`~clusterfinder.simulate.draw_population`
with hard negatives) makes each sub-group of two or more members an ``asterism``
object (label 0) and each other member an ``m31_star``.
"""

import math
from dataclasses import dataclass

import numpy as np

from .profiles import scale_for_reff

__all__ = ["ASSOCIATION_DENSITY", "Association", "add_association", "draw_association"]

#: Surface density (deg^-2) of OB associations at the disc's reference radius: ~420 in
#: M31 (Magnier et al. 1993), most of them in the 5-15 kpc star-forming ring, which
#: covers ~0.75 deg^2 of sky at M31's inclination.
ASSOCIATION_DENSITY = 560.0
#: Median and log10 spread of an association's diameter (pc); Magnier et al. 1993: ~90 pc.
DIAMETER_PC = (90.0, 0.2)
#: Magnitudes (g, AB, at M31) of the brightest and faintest member drawn, and the slope
#: (dex per mag) of the members' luminosity function.
MEMBER_MAGNITUDES = (18.5, 24.5, 0.3)
#: Range of the number of members drawn (down to the faintest magnitude above).
MEMBERS = (15, 80)
#: Range of the number of sub-groups and of the fraction of members in them.
SUBGROUPS = (2, 6)
SUBGROUP_FRACTION = (0.3, 0.6)
#: Range of a sub-group's size (Gaussian sigma, pc): looser than a cluster (half-light
#: radius 1-4 pc), so that a sub-group is never a cluster by another name.
SUBGROUP_SIGMA_PC = (3.0, 8.0)
#: Range of the light of a sub-group's unresolved members, as a fraction of its
#: resolved members' light.
SMOOTH_FRACTION = (0.0, 0.1)
#: Fraction of members that are red supergiants rather than blue main-sequence stars.
RED_FRACTION = 0.15


@dataclass
class Association:
    """One association's members and sub-groups, in pixels of the field.

    ``x``, ``y``, ``mag_g``, ``color`` (g - i, intrinsic), ``ebv`` describe the members;
    ``group`` is each member's sub-group (-1 for members outside every sub-group).
    ``group_x``, ``group_y``, ``group_sigma`` (pixels) and ``group_smooth`` (fraction
    of the resolved light) describe the sub-groups.
    """

    x: np.ndarray
    y: np.ndarray
    mag_g: np.ndarray
    color: np.ndarray
    ebv: np.ndarray
    group: np.ndarray
    group_x: np.ndarray
    group_y: np.ndarray
    group_sigma: np.ndarray
    group_smooth: np.ndarray


def draw_association(rng, x, y, *, pc_per_pixel, shift=0.0, ebv=(0.0, 0.0)):
    """Draw one association centred on pixel ``(x, y)``.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        Random stream.
    x, y : float
        Centre of the association (pixels).
    pc_per_pixel : float
        Parsecs per pixel at the galaxy's distance.
    shift : float
        Magnitudes added to every member (distance relative to M31's 785 kpc).
    ebv : tuple of float
        Foreground E(B-V) and mean internal E(B-V) of the disc; young regions are
        dustier, so members get twice the disc's mean internal reddening on average.

    Returns
    -------
    `Association`

    Examples
    --------
    >>> import numpy as np
    >>> from clusterfinder.simulate.associations import draw_association
    >>> a = draw_association(np.random.default_rng(0), 100.0, 100.0, pc_per_pixel=0.71)
    >>> bool(15 <= a.x.size <= 80 and (a.group >= -1).all())
    True
    """
    median, spread = DIAMETER_PC
    diameter = float(np.clip(median * 10.0 ** (spread * rng.normal()), 30.0, 250.0))
    n = int(rng.integers(MEMBERS[0], MEMBERS[1] + 1))
    bright, faint, slope = MEMBER_MAGNITUDES
    # Luminosity function dN/dm ~ 10^(slope m) between bright and faint, by inversion.
    low, high = 10.0 ** (slope * bright), 10.0 ** (slope * faint)
    mag_g = np.log10(low + rng.random(n) * (high - low)) / slope + shift
    red = rng.random(n) < RED_FRACTION
    color = np.where(red, rng.normal(1.6, 0.3, n), rng.normal(-0.35, 0.15, n))

    spread_pix = diameter / 4.0 / pc_per_pixel
    k = int(rng.integers(SUBGROUPS[0], SUBGROUPS[1] + 1))
    group_x = x + rng.normal(0.0, spread_pix, k)
    group_y = y + rng.normal(0.0, spread_pix, k)
    group_sigma = rng.uniform(*SUBGROUP_SIGMA_PC, k) / pc_per_pixel
    group_smooth = rng.uniform(*SMOOTH_FRACTION, k)
    in_group = rng.random(n) < rng.uniform(*SUBGROUP_FRACTION)
    group = np.where(in_group, rng.integers(0, k, n), -1)
    centre_x = np.where(in_group, group_x[np.maximum(group, 0)], x)
    centre_y = np.where(in_group, group_y[np.maximum(group, 0)], y)
    sigma = np.where(in_group, group_sigma[np.maximum(group, 0)], spread_pix)
    return Association(
        x=centre_x + rng.normal(0.0, 1.0, n) * sigma,
        y=centre_y + rng.normal(0.0, 1.0, n) * sigma,
        mag_g=mag_g,
        color=color,
        ebv=ebv[0] + rng.exponential(2.0 * ebv[1], n),
        group=group,
        group_x=group_x,
        group_y=group_y,
        group_sigma=group_sigma,
        group_smooth=group_smooth,
    )


def add_association(build, association, *, arcsec_per_pixel):
    """Add an `Association` to a population under construction (``_Builder``).

    Each sub-group of two or more members becomes one ``asterism`` object owning its
    members and its smooth light, at the flux-weighted centre of its members; every
    other member becomes an ``m31_star``.
    """
    a = association
    mag_i = a.mag_g - a.color
    single = np.ones(a.x.size, dtype=bool)
    for k in range(a.group_x.size):
        members = np.flatnonzero(a.group == k)
        if members.size < 2:
            continue
        single[members] = False
        flux_g = 10.0 ** (-0.4 * a.mag_g[members])
        flux_i = 10.0 ** (-0.4 * mag_i[members])
        smooth = a.group_smooth[k]
        weight = flux_g / flux_g.sum()
        cx, cy = float(weight @ a.x[members]), float(weight @ a.y[members])
        rms = math.sqrt(weight @ ((a.x[members] - cx) ** 2 + (a.y[members] - cy) ** 2))
        owner = build.add_objects(
            1, x=cx, y=cy, kind="asterism", profile="association", nstars=members.size,
            mag_g=-2.5 * math.log10(flux_g.sum() * (1.0 + smooth)),
            mag_i=-2.5 * math.log10(flux_i.sum() * (1.0 + smooth)),
            ebv=float(a.ebv[members].mean()), reff=rms * arcsec_per_pixel,
        )[0]  # fmt: skip
        build.add_points(
            x=a.x[members], y=a.y[members], owner=owner, mag_g=a.mag_g[members],
            mag_i=mag_i[members], ebv=a.ebv[members],
        )  # fmt: skip
        if smooth > 0:
            # A round exponential profile with the sub-group's half-light radius
            # (1.18 sigma for a Gaussian) stands for its unresolved members.
            s, rt = scale_for_reff("sersic", 1.18 * a.group_sigma[k], sersic_n=1.0)
            build.add_extended(
                x=a.group_x[k], y=a.group_y[k], owner=owner,
                mag_g=-2.5 * math.log10(flux_g.sum() * smooth),
                mag_i=-2.5 * math.log10(flux_i.sum() * smooth),
                ebv=float(a.ebv[members].mean()), profile="sersic", scale=s, rt=rt,
                sersic_n=1.0, ellipticity=0.0, theta=0.0,
            )  # fmt: skip
    k = np.flatnonzero(single)
    owners = build.add_objects(
        k.size, x=a.x[k], y=a.y[k], kind="m31_star", mag_g=a.mag_g[k], mag_i=mag_i[k],
        ebv=a.ebv[k],
    )  # fmt: skip
    build.add_points(
        x=a.x[k], y=a.y[k], owner=owners, mag_g=a.mag_g[k], mag_i=mag_i[k], ebv=a.ebv[k]
    )
