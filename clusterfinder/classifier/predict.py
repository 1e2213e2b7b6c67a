"""From stamps to probabilities: the arrays a model reads, and the batched forward pass.

`stamp_arrays` turns a `~clusterfinder.Cutout` into the data and mask a model reads
(its bands in its channel order, its stamp size, and the PSF channels of a
seeing-aware model), after the checks of `~clusterfinder.classifier.checks`.
`predict_batches` runs the network over them in evaluation mode, without gradients,
in batches; a probability that is not finite is never returned:
`explain_nonfinite` says whether the stamps or the model are at fault.
"""

import numpy as np
import torch

from ..utils import progress_bar as _progress_bar
from ..utils.photometry import REFERENCE_ZEROPOINT
from ..utils.validation import check_precision
from .checks import check_stamps, format_indices
from .psf_input import distinct_psf_images
from .training import autocast_context, memory_layout

__all__ = [
    "device_batches",
    "explain_nonfinite",
    "host_batches",
    "input_batch",
    "precision_context",
    "predict_batches",
    "stamp_arrays",
    "stamp_inputs",
]


def stamp_arrays(cutout, *, bands, cutout_size, pixel_scale, psf_channels, name="cutout"):
    """Data and mask of ``cutout`` in the model's band order and stamp size.

    What `stamp_inputs` gives, with the PSF channels (if any) appended to every
    stamp: the whole input of the model, e.g. for training.

    Returns
    -------
    data, mask : ndarray
        ``(N, C, cutout_size, cutout_size)``.
    """
    data, mask, psf = stamp_inputs(
        cutout,
        bands=bands,
        cutout_size=cutout_size,
        pixel_scale=pixel_scale,
        psf_channels=psf_channels,
        name=name,
    )
    if psf is None:
        return data, mask
    return input_batch(data, mask, psf, slice(None))


def input_batch(data, mask, psf, index):
    """The model's input (data, mask) for the stamps ``index`` (a slice or an index array).

    ``data``, ``mask`` and ``psf`` are what `stamp_inputs` returns; the PSF channels
    are drawn for these stamps only, on the host. `device_batches` draws them on the
    device instead, for prediction.
    """
    if psf is None:
        return np.ascontiguousarray(data[index]), np.ascontiguousarray(mask[index])
    stamps, stamp_mask = data[index], mask[index]
    n, bands = stamps.shape[:2]
    shape = (n, bands + len(psf), *stamps.shape[2:])
    x, m = np.empty(shape, dtype=np.float32), np.zeros(shape, dtype=bool)
    x[:, :bands] = stamps
    m[:, :bands] = stamp_mask
    for k, (images, inverse) in enumerate(psf):
        x[:, bands + k] = images[inverse[index]]
    return x, m


def host_batches(data, mask, batch_size):
    """``(batch, data, mask)``: each slice of ``batch_size`` stamps and their bands, contiguous.

    All the host does per batch of a prediction: for stamps cut at the model's size and
    band order (a scan's) the arrays are views, not copies.
    """
    for start in range(0, len(data), batch_size):
        batch = slice(start, start + batch_size)
        yield batch, np.ascontiguousarray(data[batch]), np.ascontiguousarray(mask[batch])


def device_batches(data, mask, psf, *, batch_size, device):
    """The model's input (data, mask) for each batch of stamps, as tensors on ``device``.

    Only the stamps' bands cross from the host (`host_batches`). The PSF channels of a
    seeing-aware model (``psf`` from `stamp_inputs`) are drawn on ``device`` from the
    distinct PSF images, copied there once: the same input as `input_batch`, without
    the host copying a PSF image per stamp. The batches then share one block of
    device memory, each valid until the next is drawn. The mask covers the bands only
    (the input transform never masks PSF channels).
    """
    if psf is not None:
        psf = [
            (torch.from_numpy(images).to(device), torch.from_numpy(inverse).to(device))
            for images, inverse in psf
        ]
    block = None
    for batch, stamps, stamp_mask in host_batches(data, mask, batch_size):
        m = torch.from_numpy(stamp_mask).to(device)
        if psf is None:
            yield torch.from_numpy(stamps).to(device), m
            continue
        n, bands = stamps.shape[:2]
        if block is None:
            shape = (n, bands + len(psf), *stamps.shape[2:])
            block = torch.empty(shape, dtype=torch.float32, device=device)
        x = block[:n]
        x[:, :bands] = torch.from_numpy(stamps)
        for k, (images, inverse) in enumerate(psf):
            x[:, bands + k] = images[inverse[batch]]
        yield x, m


def stamp_inputs(cutout, *, bands, cutout_size, pixel_scale, psf_channels, name="cutout"):
    """Data and mask of ``cutout``'s bands, and the distinct PSFs of a seeing-aware model.

    Parameters
    ----------
    cutout : `~clusterfinder.Cutout`
        Checked with `~clusterfinder.classifier.checks.check_stamps`.
    bands : tuple of str
        The bands the model reads, in channel order.
    cutout_size : int
        Stamp side the model reads: larger stamps are cropped around their sources
        (`~clusterfinder.Cutout.crop`).
    pixel_scale : `~astropy.units.Quantity` or None
        The model's pixel scale.
    psf_channels : bool
        Append the images of the stamps' PSF (`~clusterfinder.classifier.psf_input`).
    name : str, optional
        What the stamps are, for the messages.

    Returns
    -------
    data, mask : ndarray
        ``(N, len(bands), cutout_size, cutout_size)``.
    psf : list or None
        With ``psf_channels``, the distinct PSF images of the stamps and the index
        of each stamp's (`~clusterfinder.classifier.psf_input.distinct_psf_images`),
        from which `input_batch` draws the PSF channels of a batch; else None.
    """
    check_stamps(cutout, bands=bands, cutout_size=cutout_size, pixel_scale=pixel_scale, name=name)
    given = tuple(cutout.bands)
    size = np.shape(cutout.data)[-1]
    if size > cutout_size and hasattr(cutout, "crop"):
        # The pixels that Cutout.from_images would have cut at the model's size (the
        # same stamps a scan gives the model), not merely the middle of the stamp.
        cutout = cutout.crop(cutout_size)
    data, mask = np.asarray(cutout.data), np.asarray(cutout.mask)
    order = [given.index(band) for band in bands]
    if order != list(range(len(given))):
        data, mask = data[:, order], mask[:, order]
    if data.shape[-1] > cutout_size:
        start = (size - cutout_size) // 2
        window = slice(start, start + cutout_size)
        data, mask = data[..., window, window], mask[..., window, window]
    psf = None
    if psf_channels:
        table = getattr(cutout, "table", None)
        psf = distinct_psf_images(table, bands, cutout_size, pixel_scale)
    return data, mask, psf


def precision_context(device, precision):
    """The autocast context in which the network predicts on ``device``.

    ``"auto"``: bfloat16 autocast on CUDA (float16 on a GPU without bfloat16) and
    float32 on the CPU; ``"float32"``: no autocast anywhere (reproducible bit for bit
    on the CPU); ``"bfloat16"``: bfloat16 autocast on any device (on CPUs with
    bfloat16 instructions about twice as fast; ``benchmarks/bench_precision.py``
    measures what it changes).
    """
    check_precision(precision)
    if precision == "auto":
        return autocast_context(device)[0]
    if precision == "float32":
        return torch.autocast(device.type, enabled=False)
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"precision='bfloat16' was asked for, but {device} has no bfloat16 arithmetic; "
            "use precision='auto' (float16 there) or 'float32'"
        )
    return torch.autocast(device.type, dtype=torch.bfloat16)


def predict_batches(
    model,
    transform,
    data,
    mask,
    *,
    batch_size,
    device,
    psf=None,
    precision="auto",
    progress_bar=False,
):
    """P(cluster), float64, for every stamp of ``data`` (in counts) and ``mask``.

    ``model`` is moved to ``device`` and put in evaluation mode. It runs in the
    channels-last memory layout (`~clusterfinder.classifier.training.memory_layout`),
    with the arithmetic of ``precision`` (`precision_context`: by default mixed
    precision on CUDA, float32 on the CPU). ``psf`` (from `stamp_inputs`) adds the
    PSF channels batch by batch, so that they are never copied for all stamps at once.

    Raises
    ------
    ValueError, RuntimeError
        When a probability is not finite (see `explain_nonfinite`).
    """
    layout = memory_layout(device)
    context = precision_context(device, precision)
    model = model.to(device, memory_format=layout).eval()
    batches = device_batches(data, mask, psf, batch_size=batch_size, device=device)
    bar = _progress_bar(
        batches,
        enabled=progress_bar,
        total=-(-len(data) // batch_size),
        desc="classifying",
        unit="batch",
    )
    logits = []
    with torch.inference_mode(), context:
        for x, m in bar:
            x = transform(x, m).contiguous(memory_format=layout)
            # Kept on the device until the end: no wait for the GPU after each batch.
            logits.append(model(x).float())
    if logits:
        out = torch.sigmoid(torch.cat(logits)).double().cpu().numpy()
    else:
        out = np.empty(0, dtype=np.float64)
    if not np.isfinite(out).all():  # one pass over N numbers: nothing next to the network
        bad = np.flatnonzero(~np.isfinite(out))
        explain_nonfinite(model, transform, bad, data, mask, device, psf=psf)
    return out


def explain_nonfinite(model, transform, bad, data, mask, device, *, psf=None):
    """Raise for stamps whose probability is NaN: are the stamps or the model at fault?

    Raises
    ------
    RuntimeError
        The model is broken: non-finite weights, activations that overflow mixed
        precision, or NaN from finite input.
    ValueError
        The stamps are at fault: their scaled pixels are not finite.
    """
    which = f"{len(bad)} of {len(data)} stamp(s) (indices {format_indices(bad)})"
    broken = [
        name
        for name, tensor in model.state_dict().items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]
    if broken:
        raise RuntimeError(
            f"the model gives NaN probabilities for {which}: its weights hold non-finite "
            f"values ({', '.join(broken[:3])}{', ...' if len(broken) > 3 else ''}). The "
            "model is broken (a corrupt file, or a training run that diverged); load or "
            "train it again"
        )
    model = model.to(device).eval()
    stamps, stamp_mask = input_batch(data, mask, psf, bad)
    x = torch.from_numpy(stamps).to(device)
    m = torch.from_numpy(stamp_mask).to(device)
    with torch.inference_mode():
        x = transform(x, m)
        finite_input = torch.isfinite(x).flatten(1).all(dim=1).cpu().numpy()
        finite_output = torch.isfinite(model(x).float()).cpu().numpy()
    if not finite_input.all():
        pixels = np.asarray(stamps, dtype=np.float64)
        valid = np.isfinite(pixels) & ~np.asarray(stamp_mask, dtype=bool)
        largest = float(np.abs(np.where(valid, pixels, 0.0)).max()) if valid.any() else 0.0
        raise ValueError(
            f"the stamps give NaN probabilities for {which}: their scaled pixels are not "
            f"finite (largest absolute pixel value {largest:.3g} counts on zero point "
            f"{REFERENCE_ZEROPOINT:g}, beyond what float32 arithmetic holds). Mask such "
            "pixels or check the zero points of the images"
        )
    if finite_output.all() and device.type == "cuda":
        raise RuntimeError(
            f"the model gives NaN probabilities for {which} with mixed precision on "
            f"{device} but finite ones in float32: its activations overflow the reduced "
            "precision; run on the CPU (device='cpu')"
        )
    raise RuntimeError(
        f"the model gives NaN probabilities for {which} although their scaled pixels are "
        "finite: the model is broken (e.g. a negative batch-normalisation variance); "
        "load or train it again"
    )
