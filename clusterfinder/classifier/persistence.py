"""Saving and loading model weights safely, with their metadata.

A saved model is two files side by side:

- ``<name>.safetensors``: the weights (a plain ``state_dict``) in the
  `safetensors <https://huggingface.co/docs/safetensors>`_ format, which holds
  only tensors and cannot run code when read. The metadata is also stored in
  its header, so that this one file is enough to rebuild the model (this is
  what is downloaded for registered weights). Without the optional safetensors
  package, ``<name>.pt`` is written with `torch.save` and read back with
  ``torch.load(weights_only=True)``, never unpickling arbitrary objects.
- ``<name>.json``: the metadata, readable by people: architecture and its
  options, bands, cutout size, pixel scale, input transform, threshold,
  training data, metrics, versions, date and the sha256 of the weights file.

Both are written atomically (a temporary name in the same folder, then
`os.replace`); existing files are replaced only with ``overwrite=True``.
Weights are always loaded on the CPU first, so a model trained on a GPU loads
on any machine, and checked (`check_state_dict`): a file whose tensors are not
all finite (a corrupt download or disk) is refused when it is read, not
discovered as NaN probabilities later.
"""

import hashlib
import json
import os
from pathlib import Path

import torch

from ..utils.files import atomic_write

__all__ = [
    "check_state_dict",
    "file_sha256",
    "load_weights",
    "save_weights",
    "weights_candidates",
    "weights_files",
    "weights_paths",
]

_METADATA_KEY = "clusterfinder"
_SUFFIXES = (".safetensors", ".pt", ".json")


def _have_safetensors():
    try:
        import safetensors.torch  # noqa: F401
    except ImportError:
        return False
    return True


def file_sha256(path):
    """Hexadecimal sha256 digest of a file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "x"
    ...     _ = path.write_bytes(b"abc")
    ...     file_sha256(path)[:12]
    'ba7816bf8f01'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_paths(path):
    """The base path and the candidate weights/metadata files for ``path``.

    ``path`` may be the base name or any of the files (``.safetensors``,
    ``.pt``, ``.json``).

    Returns
    -------
    base : `~pathlib.Path`
    """
    path = Path(os.fspath(path)).expanduser()
    if path.suffix in _SUFFIXES:
        path = path.with_suffix("")
    return path


def weights_candidates(path):
    """The weights files `load_weights` looks for, in order, for ``path``.

    A ``.safetensors`` or ``.pt`` file is itself; a base name (or its ``.json``)
    stands for the ``.safetensors`` and then the ``.pt`` file beside it.

    Returns
    -------
    list of `~pathlib.Path`
    """
    given = Path(os.fspath(path)).expanduser()
    if given.suffix in (".safetensors", ".pt"):
        return [given]
    base = weights_paths(given)
    return [base.with_suffix(".safetensors"), base.with_suffix(".pt")]


def weights_files(path, *, use_safetensors=None):
    """The files `save_weights` writes for ``path``: the weights and the metadata.

    Parameters
    ----------
    path : str or path-like
        Base name or any of the files (see `weights_paths`).
    use_safetensors : bool, optional
        Default: when the package safetensors is installed, as for `save_weights`.

    Returns
    -------
    weights_path, metadata_path : `~pathlib.Path`
        ``<base>.safetensors`` (``<base>.pt`` without safetensors) and ``<base>.json``.

    Examples
    --------
    >>> [p.name for p in weights_files("models/m31.json", use_safetensors=True)]
    ['m31.safetensors', 'm31.json']
    """
    base = weights_paths(path)
    if use_safetensors is None:
        use_safetensors = _have_safetensors()
    return base.with_suffix(".safetensors" if use_safetensors else ".pt"), base.with_suffix(".json")


def save_weights(path, state_dict, metadata, *, overwrite=False, use_safetensors=None):
    """Write ``state_dict`` and ``metadata`` (a JSON-serialisable dict).

    Parameters
    ----------
    path : str or path-like
        Base name; the suffixes are added.
    state_dict : dict of str -> `torch.Tensor`
    metadata : dict
    overwrite : bool, optional
        Replace existing files; without it an existing file is an error.
    use_safetensors : bool, optional
        Default: when the package is installed.

    Returns
    -------
    weights_path, metadata_path : `~pathlib.Path`

    Raises
    ------
    FileExistsError
        A file to write exists and ``overwrite`` is False.
    ValueError
        Weights that are not finite (see `check_state_dict`): nothing is written.
    """
    base = weights_paths(path)
    if not base.parent.is_dir():
        raise OSError(f"cannot save the model: folder {str(base.parent)!r} does not exist")
    if use_safetensors is None:
        use_safetensors = _have_safetensors()
    weights_path, json_path = weights_files(base, use_safetensors=use_safetensors)
    for existing in (weights_path, json_path):
        if existing.exists() and not overwrite:
            raise FileExistsError(
                f"cannot save the model: {str(existing)!r} exists; pass overwrite=True to "
                "replace it"
            )
    problems = state_dict_problems(state_dict)
    if problems:
        raise ValueError(
            f"cannot save the model to {str(weights_path)!r}: its weights are unusable "
            f"({problems}); it would give NaN probabilities and could not be loaded"
        )
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}
    metadata = dict(metadata)
    if use_safetensors:
        from safetensors.torch import save_file

        header = {_METADATA_KEY: json.dumps(metadata)}
        atomic_write(weights_path, lambda tmp: save_file(tensors, tmp, metadata=header))
    else:
        atomic_write(weights_path, lambda tmp: torch.save(tensors, tmp))
    metadata["weights_file"] = weights_path.name
    metadata["sha256"] = file_sha256(weights_path)

    def write_json(tmp):
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(metadata, handle, indent=2, sort_keys=True)
            handle.write("\n")

    atomic_write(json_path, write_json)
    return weights_path, json_path


def load_weights(path, *, check_hash=True):
    """Read weights and metadata written by `save_weights`.

    Parameters
    ----------
    path : str or path-like
        Base name or any of the files. A ``.safetensors`` file alone is enough
        (its header holds the metadata); a ``.pt`` file needs its ``.json``.
    check_hash : bool, optional
        Compare the weights file with the sha256 recorded in the JSON sidecar.

    Returns
    -------
    state_dict : dict of str -> `torch.Tensor`
    metadata : dict
        With ``weights_file`` (the file read) and ``sha256`` (its digest).
    """
    given = Path(os.fspath(path)).expanduser()
    base = weights_paths(given)
    candidates = weights_candidates(given)
    weights_path = next((c for c in candidates if c.is_file()), None)
    if weights_path is None:
        raise FileNotFoundError(
            f"no model weights at {str(given)!r} (looked for "
            + ", ".join(str(c) for c in candidates)
            + ")"
        )
    json_path = base.with_suffix(".json")
    metadata = None
    actual = None
    if json_path.is_file():
        try:
            metadata = json.loads(json_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"corrupt model metadata file {str(json_path)!r}: {exc}") from None
        recorded = metadata.get("sha256")
        if check_hash and recorded and metadata.get("weights_file") == weights_path.name:
            actual = file_sha256(weights_path)
            if actual != recorded:
                raise ValueError(
                    f"the weights file {str(weights_path)!r} does not match the sha256 recorded "
                    f"in {json_path.name} (expected {recorded}, got {actual}): it is corrupt or "
                    "was replaced"
                )
    if weights_path.suffix == ".safetensors":
        state_dict, header = _read_safetensors(weights_path)
        if metadata is None:
            if header is None:
                raise ValueError(
                    f"{str(weights_path)!r} holds no clusterfinder metadata and has no .json "
                    "sidecar"
                )
            metadata = header
    else:
        if metadata is None:
            raise FileNotFoundError(f"the metadata file {str(json_path)!r} is missing")
        try:
            state_dict = torch.load(weights_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(
                f"cannot read model weights from {str(weights_path)!r} (corrupt or not a "
                f"state_dict): {exc}"
            ) from None
        if not isinstance(state_dict, dict) or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()
        ):
            raise ValueError(f"{str(weights_path)!r} does not hold a state_dict of tensors")
    check_state_dict(state_dict, repr(str(weights_path)))
    metadata = dict(metadata)
    metadata["weights_file"] = weights_path.name
    metadata["sha256"] = actual or file_sha256(weights_path)
    return state_dict, metadata


def check_state_dict(state_dict, source="the weights"):
    """Refuse weights that no network can use: non-finite values, negative variances.

    A model whose weights hold a NaN or an infinity gives NaN for every stamp; so does
    a batch-normalisation layer with a negative running variance. Both are signs of a
    corrupt file (or of a training run that diverged) and are refused here, once, when
    the weights are read. That the names and shapes fit the architecture is checked
    when the weights are put into the network.

    Parameters
    ----------
    state_dict : dict of str -> `torch.Tensor`
    source : str, optional
        Where the weights come from, for the message.

    Raises
    ------
    ValueError
        Naming the tensors at fault (the first few) and how many values are bad.

    Examples
    --------
    >>> import torch
    >>> check_state_dict({"w": torch.ones(3)})
    >>> check_state_dict({"w": torch.tensor([1.0, float("nan")])}, "model.safetensors")
    Traceback (most recent call last):
    ...
    ValueError: model.safetensors is corrupt: 1 tensor(s) hold non-finite values (w: 1 of 2). ...
    """
    problems = state_dict_problems(state_dict, source)
    if problems:
        raise ValueError(
            f"{source} is corrupt: {problems}. A network with these weights gives NaN "
            "probabilities; download or copy the file again, or retrain"
        )


def state_dict_problems(state_dict, source="the weights"):
    """What makes ``state_dict`` unusable, in words, or an empty string (see `check_state_dict`).

    Examples
    --------
    >>> import torch
    >>> state_dict_problems({"bn.running_var": torch.tensor([1.0, -2.0])})
    '1 batch-normalisation variance(s) are negative (bn.running_var)'
    """
    nonfinite, negative = [], []
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(
                f"{source} does not hold a state_dict of tensors ({name!r} is a "
                f"{type(tensor).__name__})"
            )
        if not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        bad = int((~torch.isfinite(tensor)).sum())
        if bad:
            nonfinite.append(f"{name}: {bad} of {tensor.numel()}")
        elif name.endswith("running_var") and bool((tensor < 0).any()):
            negative.append(name)
    problems = []
    if nonfinite:
        problems.append(f"{len(nonfinite)} tensor(s) hold non-finite values ({_first(nonfinite)})")
    if negative:
        problems.append(
            f"{len(negative)} batch-normalisation variance(s) are negative ({_first(negative)})"
        )
    return "; ".join(problems)


def _first(items, n=3):
    return ", ".join(items[:n]) + (f", ... ({len(items) - n} more)" if len(items) > n else "")


def _read_safetensors(path):
    try:
        from safetensors import safe_open
        from safetensors.torch import load_file
    except ImportError:  # pragma: no cover - safetensors is optional
        raise ImportError(
            f"reading {str(path)!r} needs the optional package safetensors "
            "(pip install safetensors)"
        ) from None
    try:
        state_dict = load_file(path, device="cpu")
        with safe_open(path, framework="pt", device="cpu") as handle:
            header = (handle.metadata() or {}).get(_METADATA_KEY)
    except Exception as exc:
        raise ValueError(
            f"cannot read model weights from {str(path)!r}: the file is corrupt or not in the "
            f"safetensors format ({exc})"
        ) from None
    if header is not None:
        try:
            header = json.loads(header)
        except ValueError:
            raise ValueError(f"corrupt metadata in the header of {str(path)!r}") from None
    return state_dict, header
