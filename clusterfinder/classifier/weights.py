"""The registry of trained weights, and where their files come from.

Weights are data: a `WeightsEntry` names a file, says where to get it and
what its sha256 is, and carries a short description (bands, pixel scale,
training data, metrics), in the spirit of torchvision's ``Weights``.
`ClusterClassifier.from_pretrained <clusterfinder.ClusterClassifier.from_pretrained>`
resolves a name or a path with `resolve_weights`:

1. a path to an existing file is used as it is: no registry, no network;
2. a registered name whose file is bundled in ``clusterfinder/data/weights/``
   is read from there (the default model is bundled, so it works offline);
3. otherwise the file is downloaded once with `pooch`, checked against its
   sha256 and kept in the cache folder (`cache_dir`): ``clusterfinder.conf.cache_dir``
   if set, else ``$CLUSTERFINDER_CACHE`` if set, else the user cache
   (``pooch.os_cache("clusterfinder")``). The cached file name
   ends with the first characters of its hash, so two versions never collide.
   A download whose hash does not match is deleted and an error raised.
"""

import dataclasses
import os
from pathlib import Path

__all__ = [
    "DEFAULT_WEIGHTS",
    "WEIGHTS_REGISTRY",
    "WeightsEntry",
    "cache_dir",
    "list_weights",
    "register_weights",
    "resolve_weights",
]

#: Name of the model that ``ClusterClassifier.from_pretrained()`` loads.
DEFAULT_WEIGHTS = "pandas_sim_small_cnn_v3"

#: Folder of the weights bundled with the package.
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "data" / "weights"

#: Environment variable naming the download cache folder.
CACHE_ENV = "CLUSTERFINDER_CACHE"


@dataclasses.dataclass(frozen=True)
class WeightsEntry:
    """One set of trained weights in the registry.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"pandas_sim_small_cnn_v1"``.
    url : str or None
        Where to download the ``.safetensors`` file; None for bundled-only
        weights.
    sha256 : str or None
        Hexadecimal sha256 of the file (required to download).
    meta : dict, optional
        Description: architecture, bands, pixel scale, cutout size, training
        data, metrics...
    filename : str, optional
        Name of the bundled file; default ``name + ".safetensors"``.

    Examples
    --------
    >>> entry = WeightsEntry("demo", url=None, sha256=None, meta={"bands": ["g", "i"]})
    >>> entry.filename
    'demo.safetensors'
    """

    name: str
    url: str | None
    sha256: str | None
    meta: dict = dataclasses.field(default_factory=dict)
    filename: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string; got {self.name!r}")
        if self.filename is None:
            object.__setattr__(self, "filename", f"{self.name}.safetensors")
        if self.sha256 is not None:
            digest = str(self.sha256).lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError(f"sha256 must be 64 hexadecimal digits; got {self.sha256!r}")
            object.__setattr__(self, "sha256", digest)
        if self.url is not None and self.sha256 is None:
            raise ValueError(f"weights {self.name!r} with a url need a sha256 to check it")

    @property
    def bundled_path(self):
        """Where the file lies when it is bundled with the package."""
        return BUNDLED_DIR / self.filename

    @property
    def metadata(self):
        """The JSON sidecar of the bundled file (a dict), or `meta` when not bundled.

        The sidecar, written with the weights, is the full record: architecture,
        bands, pixel scale, input transform, training and metrics.
        """
        sidecar = self.bundled_path.with_suffix(".json")
        if sidecar.is_file():
            import json

            return json.loads(sidecar.read_text())
        return dict(self.meta)

    @property
    def transform(self):
        """The `~clusterfinder.classifier.InputTransform` the weights expect.

        Raises
        ------
        ValueError
            When neither the sidecar nor `meta` records the transform.

        Examples
        --------
        >>> from clusterfinder.classifier.weights import WEIGHTS_REGISTRY, DEFAULT_WEIGHTS
        >>> WEIGHTS_REGISTRY[DEFAULT_WEIGHTS].transform.psf_channels
        True
        """
        from .transform import InputTransform

        record = self.metadata.get("transform")
        if not isinstance(record, dict):
            raise ValueError(
                f"weights {self.name!r} record no input transform (neither bundled with a "
                "sidecar nor given one in meta['transform'])"
            )
        return InputTransform.from_dict(record)

    @property
    def cache_filename(self):
        """File name in the download cache: ``<stem>-<sha256[:12]><suffix>``."""
        stem, suffix = os.path.splitext(self.filename)
        return f"{stem}-{(self.sha256 or 'unknown')[:12]}{suffix}"


#: Registered weights by name.
WEIGHTS_REGISTRY = {}


def register_weights(entry, *, overwrite=False):
    """Add ``entry`` to the registry (returns it).

    Parameters
    ----------
    entry : `WeightsEntry`
        The weights: name, where to find them, their sha256 and metadata.
    overwrite : bool, optional
        Replace an entry of the same name.

    Returns
    -------
    `WeightsEntry`
        ``entry``.

    Raises
    ------
    TypeError
        If ``entry`` is not a `WeightsEntry`.
    ValueError
        If its name is registered already and ``overwrite`` is False.

    Examples
    --------
    >>> entry = register_weights(WeightsEntry("doc_example", url=None, sha256=None))
    >>> "doc_example" in list_weights()
    True
    >>> del WEIGHTS_REGISTRY["doc_example"]
    """
    if not isinstance(entry, WeightsEntry):
        raise TypeError(f"entry must be a WeightsEntry; got {type(entry).__name__}")
    if entry.name in WEIGHTS_REGISTRY and not overwrite:
        raise ValueError(f"weights {entry.name!r} are already registered")
    WEIGHTS_REGISTRY[entry.name] = entry
    return entry


def list_weights():
    """Names of the registered weights.

    Examples
    --------
    >>> DEFAULT_WEIGHTS in list_weights()
    True
    """
    return tuple(WEIGHTS_REGISTRY)


def cache_dir():
    """The download cache folder.

    ``clusterfinder.conf.cache_dir`` when set (a session, a ``with conf.set_temp``
    block or the astropy configuration file), else the environment variable
    ``CLUSTERFINDER_CACHE``, else the user cache folder.

    Examples
    --------
    >>> from clusterfinder import conf
    >>> with conf.set_temp("cache_dir", "/tmp/models"):
    ...     str(cache_dir())
    '/tmp/models'
    """
    from ..config import conf

    for value in (conf.cache_dir, os.environ.get(CACHE_ENV)):
        if value:
            return Path(value).expanduser()
    import pooch

    return Path(pooch.os_cache("clusterfinder"))


def _looks_like_path(value):
    text = os.fspath(value)
    return (
        isinstance(value, os.PathLike)
        or os.sep in text
        or (os.altsep is not None and os.altsep in text)
        or text.endswith((".safetensors", ".pt", ".json"))
    )


def resolve_weights(name_or_path=None, *, progress_bar=False):
    """The local file of a registered name or a path (see the module description).

    Parameters
    ----------
    name_or_path : str or path-like, optional
        Default: `DEFAULT_WEIGHTS`.
    progress_bar : bool, optional
        Show a download progress bar (needs tqdm).

    Returns
    -------
    `~pathlib.Path`

    Raises
    ------
    FileNotFoundError
        A path that does not exist, or the default model not bundled yet.
    ValueError
        An unknown name, or a download whose sha256 does not match.

    Examples
    --------
    >>> resolve_weights().name  # the bundled default model: no download
    'pandas_sim_small_cnn_v3.safetensors'
    """
    if name_or_path is None:
        name_or_path = DEFAULT_WEIGHTS
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(
            f"name_or_path must be a registered name or a path; got {type(name_or_path).__name__}"
        )
    text = os.fspath(name_or_path)
    if text not in WEIGHTS_REGISTRY or _looks_like_path(name_or_path):
        path = Path(text).expanduser()
        if path.exists():
            return path
        for suffix in (".safetensors", ".pt"):
            if path.with_suffix(suffix).is_file() and path.suffix in ("", ".json"):
                return path.with_suffix(suffix)
        if _looks_like_path(name_or_path):
            raise FileNotFoundError(f"no model weights at {text!r}")
        raise ValueError(
            f"{text!r} is neither an existing file nor a registered model name; "
            f"registered: {', '.join(list_weights()) or 'none'}"
        )
    entry = WEIGHTS_REGISTRY[text]
    if entry.bundled_path.is_file():
        return entry.bundled_path
    if entry.url is None:
        if text == DEFAULT_WEIGHTS:
            raise FileNotFoundError(
                f"the default model {DEFAULT_WEIGHTS!r} is not bundled with this installation "
                f"yet (expected {str(entry.bundled_path)!r}); train one with `clusterfinder "
                "train` and load it with ClusterClassifier.load(path), or pass a path"
            )
        raise FileNotFoundError(
            f"weights {text!r} are neither bundled ({str(entry.bundled_path)!r}) nor downloadable"
        )
    return _download(entry, progress_bar=progress_bar)


def _download(entry, *, progress_bar=False):
    import pooch

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.cache_filename
    try:
        path = pooch.retrieve(
            entry.url,
            known_hash=f"sha256:{entry.sha256}",
            fname=entry.cache_filename,
            path=folder,
            progressbar=bool(progress_bar),
        )
    except ValueError as exc:
        # pooch raises ValueError on a hash mismatch; never keep or use the file.
        target.unlink(missing_ok=True)
        raise ValueError(
            f"the download of weights {entry.name!r} from {entry.url} is corrupt: its sha256 "
            f"does not match {entry.sha256} ({exc}); the file was removed"
        ) from None
    except Exception as exc:
        target.unlink(missing_ok=True)
        raise OSError(
            f"could not download weights {entry.name!r} from {entry.url}: {exc}"
        ) from None
    return Path(path)


register_weights(
    WeightsEntry(
        "pandas_sim_small_cnn_v3",
        url=None,
        sha256="f91582e4f9a19651f9cdbd0f12b0b724b8a455e91d88a7d3621d9503406b3351",
        meta={
            "architecture": "small_cnn",
            "bands": ["g", "i"],
            "pixel_scale": 0.186,
            "psf_channels": True,
            "description": (
                "seeing-aware small CNN trained on 320 domain-randomised simulated PAndAS-like "
                "M31 fields with the simulator's hard negatives (bright asterisms, OB "
                "associations, compact galaxies and HII knots), reading each field's "
                "measured PSF (bundled, default)"
            ),
        },
    )
)
register_weights(
    WeightsEntry(
        "pandas_sim_small_cnn_v2",
        url=None,
        sha256="e1866ad187721ad3a52bd3eb5a83e09b5870cef28759007899430531e8b14504",
        meta={
            "architecture": "small_cnn",
            "bands": ["g", "i"],
            "pixel_scale": 0.186,
            "psf_channels": True,
            "description": (
                "seeing-aware small CNN trained on 160 domain-randomised simulated PAndAS-like "
                "M31 fields, reading each field's measured PSF; the default before v3 (bundled)"
            ),
        },
    )
)
register_weights(
    WeightsEntry(
        "pandas_sim_small_cnn_v1",
        url=None,
        sha256="5f14f66a1d8806d8bc75d52901ef83fd362626b639395924943693deb9bbc910",
        meta={
            "architecture": "small_cnn",
            "bands": ["g", "i"],
            "pixel_scale": 0.186,
            "psf_channels": False,
            "description": (
                "small CNN trained on fixed simulated PAndAS-like M31 fields (round Moffat "
                "PSF, white noise); seeing-blind, kept for comparison (bundled)"
            ),
        },
    )
)
