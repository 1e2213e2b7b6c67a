"""The output folder of a scan: what makes a scan resumable.

A scan writes, in its output folder:

- ``manifest.json``: what the scan is (model name, weights sha256 and fingerprint,
  threshold, bands, cutout and tile sizes, the field list, the sources) and how it
  went (``failed``: fields or tiles that could not be read, with the reason;
  ``complete``). It is written first, so a resumed scan can check that it is asked
  for the same job, and refuse, with the reason, to mix the results of two models
  or thresholds.
- ``parts/F_T.fits``: the rows of one finished unit of work (field ``F``, tile
  ``T``), written to a temporary name and renamed when whole (binary FITS tables,
  about 10 times quicker to write and read than text; a part whose text cannot go
  into FITS, and the parts of scans begun by earlier versions, are ECSV:
  ``F_T.ecsv``). A unit is done when
  its part exists, so a scan killed at any moment loses at most the units it was
  working on, and never leaves a part that looks whole but is not.
- ``candidates.ecsv``: the merged catalogue, rebuilt from the parts in a fixed
  order with duplicates (the same source seen on overlapping fields) removed
  deterministically, so that it does not depend on the order in which units
  finished, nor on interruptions.

A scan resumes, or starts over, only in a folder whose manifest it wrote: a
``candidates.ecsv`` or part files without a manifest, or a manifest that is not a
scan's, were written by something else and are refused unless ``overwrite=True``.
The scan's input files are never its outputs.
"""

import datetime
import json
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable, vstack

from ..catalog.ecsv import write_ecsv
from ..utils import ClusterFinderWarning
from ..utils.files import atomic_write, atomic_write_text
from ..utils.outputs import check_output_dir, check_output_file

__all__ = ["ScanJournal", "merge_rows"]

FORMAT = "clusterfinder-scan"
FORMAT_VERSION = 1

#: Settings that must match for a scan to be resumed in an existing folder, with the
#: words used to explain a mismatch.
_MUST_MATCH = {
    "model_fingerprint": "model weights",
    "threshold": "threshold",
    "bands": "bands",
    "cutout_size": "cutout size",
    "tile_size": "tile size",
    "keep_all": "keep_all setting",
    "sources_sha256": "source list",
    "fields": "field list",
    "zero_points": "zero_points",
    "precision": "precision",
}

#: What a setting is when a manifest predates it (or the settings leave it out).
_BEFORE_RECORDED = {"precision": "auto"}


def _short(value):
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


#: Suffixes of the part files: new parts are FITS, earlier scans' ECSV.
PART_SUFFIXES = (".fits", ".ecsv")


class ScanJournal:
    """The output folder of a scan: manifest, one part file per unit, merged catalogue.

    Use `ScanJournal.start` to create or resume one.

    Examples
    --------
    >>> import tempfile
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> from clusterfinder.scan.journal import ScanJournal
    >>> settings = {"model_fingerprint": "abc", "threshold": 0.5, "fields": ["f1"]}
    >>> with tempfile.TemporaryDirectory() as out:
    ...     journal = ScanJournal.start(out, settings)
    ...     rows = QTable({"coord": SkyCoord([10.0] * u.deg, [41.0] * u.deg),
    ...                    "prob_cluster": [0.9]})
    ...     _ = journal.write_part((0, 3), rows, n_sources=12)
    ...     again = ScanJournal.start(out, settings)  # resume: the part is kept
    ...     sorted(again.done_units())
    [(0, 3)]
    """

    MANIFEST = "manifest.json"
    PARTS = "parts"
    CATALOG = "candidates.ecsv"

    def __init__(self, path, manifest):
        self.path = Path(path)
        self.manifest = manifest
        # The parts this journal wrote, as written: unit -> table. The merge takes them
        # from here instead of reading back the files it has just written.
        self._written = {}

    @property
    def parts_dir(self):
        """The folder of part files."""
        return self.path / self.PARTS

    @property
    def catalog_path(self):
        """The merged catalogue."""
        return self.path / self.CATALOG

    @classmethod
    def read_manifest(cls, path):
        """The manifest of the scan in folder ``path``, or None if there is none."""
        target = Path(path) / cls.MANIFEST
        if not target.exists():
            return None
        try:
            manifest = json.loads(target.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"the scan manifest {target} is corrupt: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"{target} is not a clusterfinder scan manifest")
        return manifest

    def _foreign(self):
        """The scan outputs in the folder that no manifest accounts for."""
        found = []
        if self.catalog_path.exists():
            found.append(self.CATALOG)
        parts = self._part_files() if self.parts_dir.is_dir() else []
        if parts:
            suffixes = sorted({part.suffix for part in parts})
            found.append(" and ".join(f"{self.PARTS}/*{suffix}" for suffix in suffixes))
        elif self.parts_dir.exists() and not self.parts_dir.is_dir():
            found.append(self.PARTS)
        return found

    @classmethod
    def start(cls, path, settings, *, resume=True, overwrite=False, inputs=None):
        """Create the output folder of a scan, or reopen it to resume.

        Parameters
        ----------
        path : str or path-like
            The output folder (created if needed).
        settings : dict
            What defines the scan (JSON-serialisable); the keys ``model_fingerprint``,
            ``threshold``, ``bands``, ``cutout_size``, ``tile_size``, ``keep_all``,
            ``sources_sha256`` and ``fields`` must match to resume.
        resume : bool, optional
            Keep the finished units of an earlier run of the same scan. If False,
            the parts and catalogue of an earlier scan in ``path`` are deleted.
        overwrite : bool, optional
            Replace a catalogue, part files or manifest in ``path`` that no scan
            manifest accounts for (by default they are refused: something else
            wrote them).
        inputs : dict, optional
            The files the scan reads (label -> path): none may be an output.

        Raises
        ------
        ValueError
            When resuming a scan made with different settings (the message says
            which and how to proceed), when ``path`` holds a manifest that is not
            a scan's, or when an output is one of the ``inputs``.
        FileExistsError
            When ``path`` holds a catalogue or part files but no manifest.
        NotADirectoryError, PermissionError
            When ``path`` is a file or cannot be written in.
        """
        path = check_output_dir(path, name="output")
        hint = "choose another output folder, or pass overwrite=True (--overwrite) to replace"
        try:
            old = cls.read_manifest(path) if path.is_dir() else None
        except ValueError as exc:
            if not overwrite:
                raise ValueError(f"{exc}; {hint} it") from None
            old = None
        journal = cls(path, {})
        foreign = journal._foreign() if old is None else []
        if foreign and not overwrite:
            raise FileExistsError(
                f"output: {str(path)!r} holds {' and '.join(foreign)} but no scan manifest: "
                f"not written by a scan; {hint} them"
            )
        path.mkdir(parents=True, exist_ok=True)
        for target in (path / cls.MANIFEST, journal.catalog_path):
            check_output_file(target, overwrite=True, inputs=inputs, name="output")
        created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        if old is not None and resume:
            for key, words in _MUST_MATCH.items():
                before = old.get(key, _BEFORE_RECORDED.get(key))
                now = settings.get(key, _BEFORE_RECORDED.get(key))
                if before != now:
                    raise ValueError(
                        f"cannot resume the scan in {path}: it was made with {words} "
                        f"{_short(before)}, not {_short(now)}; use another "
                        "output folder, or resume=False (--no-resume) to start it over"
                    )
            created = old.get("created_utc", created)
        if (old is not None and not resume) or foreign:
            journal.clear()
        journal.manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_utc": created,
            **settings,
            "failed": [],
            "complete": False,
        }
        # The manifest first: from now on, whatever is in the folder is this scan's.
        journal.save_manifest()
        journal.parts_dir.mkdir(exist_ok=True)
        return journal

    def clear(self):
        """Delete the parts, catalogue and manifest of an earlier scan (nothing else)."""
        self._written.clear()
        if self.parts_dir.is_dir():
            for part in self._part_files():
                part.unlink()
        elif self.parts_dir.exists():
            self.parts_dir.unlink()
        self.catalog_path.unlink(missing_ok=True)
        (self.path / self.MANIFEST).unlink(missing_ok=True)

    def save_manifest(self):
        """Write the manifest (atomically)."""
        text = json.dumps(self.manifest, indent=1, sort_keys=False, default=str)
        atomic_write_text(self.path / self.MANIFEST, text + "\n")

    def part_path(self, unit, suffix=PART_SUFFIXES[0]):
        """The part file of ``unit`` (field index, tile index)."""
        field, tile = unit
        return self.parts_dir / f"{int(field):05d}_{int(tile):05d}{suffix}"

    def _part_files(self):
        return [p for suffix in PART_SUFFIXES for p in self.parts_dir.glob(f"*_*{suffix}")]

    def _existing_part(self, unit):
        for suffix in PART_SUFFIXES:
            path = self.part_path(unit, suffix)
            if path.exists():
                return path
        raise FileNotFoundError(f"no part file for unit {unit} in {self.parts_dir}")

    def done_units(self):
        """The set of units ``(field index, tile index)`` whose part file exists."""
        done = set()
        for part in self._part_files():
            try:
                field, tile = (int(v) for v in part.stem.split("_"))
            except ValueError:
                continue
            done.add((field, tile))
        return done

    def write_part(self, unit, rows, *, n_sources):
        """Write the rows of a finished unit, atomically; return the part's path."""
        target = self.part_path(unit)
        table = QTable(rows, copy=False)
        if "coord" in table.colnames:
            # Plain ICRS degrees: a SkyCoord column makes ECSV files slow to read and write.
            coord = table["coord"].icrs
            table.remove_column("coord")
            table.add_column(np.asarray(coord.ra.deg, dtype=np.float64), name="_ra_icrs", index=0)
            table.add_column(np.asarray(coord.dec.deg, dtype=np.float64), name="_dec_icrs", index=1)
        table.meta = {"NSOURCES": int(n_sources), "UNITFLD": int(unit[0]), "UNITTILE": int(unit[1])}
        try:
            path = atomic_write(target, lambda tmp: table.write(tmp, format="fits", overwrite=True))
        except (UnicodeEncodeError, ValueError, TypeError):
            # Text FITS cannot hold (non-ASCII names): ECSV holds anything.
            path = atomic_write(
                self.part_path(unit, ".ecsv"),
                lambda tmp: write_ecsv(table, tmp, overwrite=True),
            )
        self._written[(int(unit[0]), int(unit[1]))] = table
        return path

    def record_failure(self, field, reason, *, tile=None):
        """Add a failed field (or tile) to the manifest and warn."""
        entry = {"field": field, "tile": tile, "reason": str(reason)}
        self.manifest["failed"].append(entry)
        self.save_manifest()
        where = f"field {field!r}" + ("" if tile is None else f" tile {tile}")
        warnings.warn(f"skipped {where}: {reason}", ClusterFinderWarning, stacklevel=3)

    def read_parts(self, units):
        """Read the parts of ``units`` in the given order; return (tables, n_sources).

        The parts this journal wrote are taken as they were written, without reading
        the files back (a resumed scan reads those of the earlier run).
        """
        tables, n_sources = [], 0
        for unit in units:
            written = self._written.get((int(unit[0]), int(unit[1])))
            if written is not None:
                table = written.copy(copy_data=False)
            elif (path := self._existing_part(unit)).suffix == ".fits":
                table = QTable.read(path, format="fits", character_as_bytes=False)
            else:
                table = QTable.read(path, format="ascii.ecsv")
            if "_ra_icrs" in table.colnames:
                coord = SkyCoord(
                    table["_ra_icrs"] * u.deg, table["_dec_icrs"] * u.deg, frame="icrs"
                )
                table.remove_columns(["_ra_icrs", "_dec_icrs"])
                table.add_column(coord, name="coord", index=0)
            n_sources += int(table.meta.get("NSOURCES", table.meta.get("n_sources", 0)))
            if len(table):
                table.meta = {}
                tables.append(table)
        return tables, n_sources


def merge_rows(tables, *, radius=0.5 * u.arcsec):
    """Join the rows of several units and remove duplicates deterministically.

    With a ``source_index`` column (sources given by the user), rows of the same
    source are duplicates; otherwise (detected sources) rows closer than ``radius``
    are, grouped friends-of-friends. Each group keeps its row of highest
    ``prob_cluster`` (the first such row in the order of ``tables`` on ties);
    ``n_detections`` counts the rows of the group. Rows of given sources come out
    in the order of the source list; detected ones in order of first appearance.

    Examples
    --------
    >>> from astropy.table import QTable
    >>> from clusterfinder.scan.journal import merge_rows
    >>> a = QTable({"source_index": [0, 2], "prob_cluster": [0.7, 0.9]})
    >>> b = QTable({"source_index": [2, 1], "prob_cluster": [0.95, 0.8]})
    >>> merged = merge_rows([a, b])
    >>> merged["source_index"].tolist(), merged["n_detections"].tolist()
    ([0, 1, 2], [1, 1, 2])
    """
    tables = [t for t in tables if len(t)]
    if not tables:
        return None
    rows = tables[0] if len(tables) == 1 else vstack(tables, metadata_conflicts="silent")
    n = len(rows)
    if "source_index" in rows.colnames:
        groups = np.asarray(rows["source_index"], dtype=int)
    else:
        from ..crossmatch import friends_of_friends

        groups = friends_of_friends(rows["coord"], radius)
    prob = np.nan_to_num(np.asarray(rows["prob_cluster"], dtype=float), nan=-np.inf)
    order = np.lexsort((np.arange(n), -prob, groups))
    first = np.ones(n, dtype=bool)
    first[1:] = groups[order][1:] != groups[order][:-1]
    chosen = order[first]
    # Groups are sorted by their number: the source index, or the order of first
    # appearance (friends_of_friends numbers groups that way).
    counts = np.bincount(groups)
    out = rows[chosen]
    out["n_detections"] = counts[groups[chosen]]
    return out
