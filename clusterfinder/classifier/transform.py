"""The input transform: from stamps in flux units to the numbers a network sees.

The transform is part of a trained model: it is stored in the model's metadata
and applied, identically, in training and in prediction. It does, in order:

1. keep the model's bands, in the model's order;
2. centre-crop the stamps to the model's size (done by the classifier);
3. mark invalid pixels: those flagged in the mask and those that are not finite
   (NaN, inf), so that bad pixels never reach the network;
4. optionally subtract a local background per stamp and band: the median of the
   valid pixels outside ``background_radius`` (a fraction of the half-size of
   the stamp), which removes the smooth light of the galaxy disc;
5. scale the flux with ``asinh(flux / softening)``: linear for faint pixels
   (sky noise), logarithmic for bright ones, so that a 17th and a 23rd
   magnitude source both give usable numbers. ``softening`` is in physical
   units, counts per pixel on the reference zero point 30 AB;
6. optionally clip the scaled values;
7. set invalid pixels to 0 and, optionally, append a mask channel (1 where
   the pixel is invalid in any band).

A seeing-aware model (``psf_channels=True``) also reads, after the stamps' bands,
one image of the field's point-spread function per band (unit flux, centred; the
classifier renders it from the PSF measured on the field, see `clusterfinder.psf`).
Each is scaled like the data, as the image of a ``psf_magnitude`` star, so that
the network compares a source with what a star looks like on the same field.
"""

import dataclasses
import json
import math

import torch

__all__ = ["InputTransform"]


@dataclasses.dataclass(frozen=True)
class InputTransform:
    """How stamps are turned into network input (saved with the model).

    Parameters
    ----------
    bands : tuple of str
        The bands the model reads, in the order of its input channels.
    softening : float, optional
        Softening of the asinh scaling, in counts per pixel on zero point 30 AB.
        The default, 5 counts, is the peak pixel of a 25th magnitude point source
        in 0.67" seeing at 0.186"/pix, about three times the sky noise of PAndAS.
    subtract_background : bool, optional
        Subtract the median of the outer annulus of each stamp and band.
    background_radius : float, optional
        Inner radius of that annulus as a fraction of the stamp half-size.
    clip : tuple of two floats, optional
        Clip the scaled values to this range.
    mask_channel : bool, optional
        Append a channel that is 1 on invalid pixels.
    psf_channels : bool, optional
        The input holds, after the bands, one unit-flux PSF image per band, scaled as a
        star of ``psf_magnitude`` (AB on zero point 30).
    psf_magnitude : float, optional
        Magnitude of the reference star drawn in the PSF channels.

    Examples
    --------
    >>> import torch
    >>> from clusterfinder.classifier import InputTransform
    >>> transform = InputTransform(bands=("g", "i"))
    >>> x = transform(torch.ones(1, 2, 8, 8))
    >>> x.shape, float(x.abs().max())
    (torch.Size([1, 2, 8, 8]), 0.0)
    >>> InputTransform.from_dict(transform.to_dict()) == transform
    True
    """

    bands: tuple = ("g", "i")
    softening: float = 5.0
    subtract_background: bool = True
    background_radius: float = 0.75
    clip: tuple | None = None
    mask_channel: bool = False
    psf_channels: bool = False
    psf_magnitude: float = 20.0

    def __post_init__(self):
        bands = self.bands
        if isinstance(bands, str) or not all(isinstance(b, str) and b for b in bands):
            raise TypeError(f"bands must be a sequence of band names; got {bands!r}")
        bands = tuple(bands)
        if not bands or len(set(bands)) != len(bands):
            raise ValueError(f"bands must be non-empty and without repeats; got {bands!r}")
        object.__setattr__(self, "bands", bands)
        softening = float(self.softening)
        if not (math.isfinite(softening) and softening > 0):
            raise ValueError(f"softening must be a positive number of counts; got {softening!r}")
        object.__setattr__(self, "softening", softening)
        radius = float(self.background_radius)
        if not 0 < radius < 1.42:
            raise ValueError(
                "background_radius must be a fraction of the stamp half-size between 0 and "
                f"1.41; got {radius!r}"
            )
        object.__setattr__(self, "background_radius", radius)
        if self.clip is not None:
            low, high = (float(v) for v in self.clip)
            if not low < high:
                raise ValueError(f"clip must be (low, high) with low < high; got {self.clip!r}")
            object.__setattr__(self, "clip", (low, high))
        object.__setattr__(self, "subtract_background", bool(self.subtract_background))
        object.__setattr__(self, "mask_channel", bool(self.mask_channel))
        object.__setattr__(self, "psf_channels", bool(self.psf_channels))
        magnitude = float(self.psf_magnitude)
        if not (math.isfinite(magnitude) and 10.0 <= magnitude <= 30.0):
            raise ValueError(f"psf_magnitude must lie between 10 and 30 AB; got {magnitude!r}")
        object.__setattr__(self, "psf_magnitude", magnitude)

    @property
    def in_channels(self):
        """Number of channels of the network input."""
        return len(self.bands) * (2 if self.psf_channels else 1) + int(self.mask_channel)

    @property
    def data_channels(self):
        """Number of channels the transform takes: the bands, then their PSFs if it reads them."""
        return len(self.bands) * (2 if self.psf_channels else 1)

    def to_dict(self):
        """A JSON-serialisable dictionary of the transform.

        Examples
        --------
        >>> from clusterfinder.classifier import InputTransform
        >>> settings = InputTransform(bands=("g", "i")).to_dict()
        >>> settings["bands"], settings["softening"]
        (['g', 'i'], 5.0)
        """
        out = dataclasses.asdict(self)
        out["bands"] = list(self.bands)
        out["clip"] = None if self.clip is None else list(self.clip)
        return out

    @classmethod
    def from_dict(cls, mapping):
        """Rebuild a transform from `to_dict` output.

        Parameters
        ----------
        mapping : dict
            Settings, as `to_dict` gives them (missing ones take their defaults).

        Returns
        -------
        `InputTransform`

        Raises
        ------
        ValueError
            For a key that is not a setting of the transform.

        Examples
        --------
        >>> from clusterfinder.classifier import InputTransform
        >>> transform = InputTransform(bands=("g", "i"), softening=2.0)
        >>> InputTransform.from_dict(transform.to_dict()) == transform
        True
        """
        mapping = dict(mapping)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(mapping) - known
        if unknown:
            raise ValueError(f"unknown input transform settings: {sorted(unknown)}")
        if mapping.get("clip") is not None:
            mapping["clip"] = tuple(mapping["clip"])
        return cls(**mapping)

    def to_json(self):
        """The transform as a JSON string (`to_dict`, serialised).

        Examples
        --------
        >>> import json
        >>> from clusterfinder.classifier import InputTransform
        >>> json.loads(InputTransform(bands=("g", "i")).to_json())["bands"]
        ['g', 'i']
        """
        return json.dumps(self.to_dict())

    def invalid(self, data, mask=None):
        """Boolean tensor, True where a pixel is masked or not finite.

        Parameters
        ----------
        data : `torch.Tensor`
            Stamps.
        mask : `torch.Tensor` of bool, optional
            True on pixels already known to be invalid; same shape as ``data``.

        Returns
        -------
        `torch.Tensor` of bool

        Examples
        --------
        >>> import torch
        >>> from clusterfinder.classifier import InputTransform
        >>> data = torch.tensor([[1.0, float("nan"), 3.0]])
        >>> InputTransform(bands=("g",)).invalid(data, torch.tensor([[True, False, False]]))
        tensor([[ True,  True, False]])
        """
        bad = ~torch.isfinite(data)
        if mask is not None:
            bad |= mask
        return bad

    def __call__(self, data, mask=None):
        """Apply the transform to a batch of stamps.

        Parameters
        ----------
        data : `torch.Tensor`
            Stamps ``(N, len(bands), H, W)`` in counts on zero point 30, bands
            already in this transform's order; with ``psf_channels``, followed by
            one unit-flux PSF image per band: ``(N, 2 * len(bands), H, W)``.
        mask : `torch.Tensor` of bool, optional
            True on invalid pixels, same shape as ``data`` (PSF channels are
            never invalid).

        Returns
        -------
        `torch.Tensor`
            ``(N, in_channels, H, W)`` float32, finite everywhere.
        """
        if data.ndim != 4 or data.shape[1] != self.data_channels:
            raise ValueError(
                f"expected stamps of shape (N, {self.data_channels}, H, W); got {tuple(data.shape)}"
            )
        data = data.float()
        psf = None
        if self.psf_channels:
            n = len(self.bands)
            data, psf = data[:, :n], data[:, n:]
            mask = None if mask is None else mask[:, :n]
        bad = self.invalid(data, mask)
        clean = torch.where(bad, torch.zeros((), dtype=data.dtype, device=data.device), data)
        if self.subtract_background:
            clean = clean - self._background(data, bad)[..., None, None]
        scaled = torch.asinh(clean / self.softening)
        if self.clip is not None:
            scaled = scaled.clamp(*self.clip)
        scaled = scaled.masked_fill(bad, 0.0)
        if psf is not None:
            star = 10.0 ** (-0.4 * (self.psf_magnitude - 30.0))
            psf = torch.asinh(torch.nan_to_num(psf) * (star / self.softening))
            if self.clip is not None:
                psf = psf.clamp(*self.clip)
            scaled = torch.cat([scaled, psf], dim=1)
        if self.mask_channel:
            scaled = torch.cat([scaled, bad.any(dim=1, keepdim=True).to(scaled.dtype)], dim=1)
        return scaled

    def _background(self, data, bad):
        """Median of the valid annulus pixels per stamp and band (0 if none)."""
        height, width = data.shape[-2:]
        yy = torch.arange(height, device=data.device, dtype=torch.float32) - (height - 1) / 2
        xx = torch.arange(width, device=data.device, dtype=torch.float32) - (width - 1) / 2
        radius = torch.sqrt(yy[:, None] ** 2 + xx[None, :] ** 2)
        ring = radius >= self.background_radius * min(height, width) / 2
        if not bool(ring.any()):
            return torch.zeros(data.shape[:2], dtype=data.dtype, device=data.device)
        values = data[..., ring]
        values = values.masked_fill(bad[..., ring], float("nan"))
        background = torch.nanmedian(values, dim=-1).values
        return torch.nan_to_num(background, nan=0.0)
