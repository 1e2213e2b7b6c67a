"""ECSV files of large catalogues, written column by column.

astropy's ECSV writer turns every value into text with one Python call per value and
one csv call per row. For a scan that keeps all its sources that is most of the host's
work (a row of 18 columns costs about 25 microseconds). `write_ecsv` writes the same
file, byte for byte: the header comes from astropy's writer (given the first row,
whose line must then match ours), the data lines from each column's values converted
in one pass, with the conversions and quoting astropy applies. Tables with a column
it does not convert this way (multidimensional, object, bytes or complex values) go
to astropy's writer unchanged.
"""

import csv
import io
import os

import numpy as np
from astropy.table.serialize import represent_mixins_as_columns
from astropy.utils.data_info import serialize_context_as
from astropy.utils.misc import NOT_OVERWRITING_MSG

__all__ = ["write_ecsv"]

# The kinds whose text astropy's ECSV writer gives as str() of each element, which
# the conversions of _column_text reproduce: float, signed and unsigned integer,
# bool, unicode.
_TEXT_KINDS = frozenset("fiubU")


def write_ecsv(table, output, *, overwrite=False):
    """Write ``table`` as ECSV, as ``table.write(output, format="ascii.ecsv")`` would.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The table (mixin columns such as `~astropy.coordinates.SkyCoord` and
        `~astropy.units.Quantity` included).
    output : str, path-like or file-like
        Where to write.
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    OSError
        When ``output`` exists and ``overwrite`` is False (astropy's message).

    Examples
    --------
    >>> import io
    >>> from astropy.table import Table
    >>> from clusterfinder.catalog.ecsv import write_ecsv
    >>> table = Table({"name": ["a b", ""], "x": [0.1, float("nan")]})
    >>> ours, astropys = io.StringIO(), io.StringIO()
    >>> write_ecsv(table, ours)
    >>> table.write(astropys, format="ascii.ecsv")
    >>> ours.getvalue() == astropys.getvalue()
    True
    >>> ours.getvalue().splitlines()[-2:]
    ['"a b" 0.1', '"" nan']
    """
    text = _fast_text(table)
    if text is None:
        table.write(output, format="ascii.ecsv", overwrite=overwrite)
        return
    if hasattr(output, "write"):
        output.write(text)
        return
    output = os.path.expanduser(output)
    if not overwrite and os.path.lexists(output):
        raise OSError(NOT_OVERWRITING_MSG.format(output))
    with open(output, "w", newline="") as stream:
        stream.write(text)


def _fast_text(table):
    """The whole ECSV text of ``table``, or None where astropy's writer must write it."""
    if not len(table):
        return None
    with serialize_context_as("ecsv"):
        plain = represent_mixins_as_columns(table)
    if not all(_convertible(column) for column in plain.itercols()):
        return None
    columns = [_column_text(column) for column in plain.itercols()]
    rows = [" ".join(values) + os.linesep for values in zip(*columns, strict=True)]
    # The header, column names included, as astropy writes it for the first row (its
    # data types can depend on the values: a Time column is text only with rows). The
    # first row's line must end that text as we wrote it, or astropy writes it all.
    first = io.StringIO()
    table[:1].write(first, format="ascii.ecsv")
    first = first.getvalue()
    if not first.endswith(rows[0]):
        return None
    return first[: -len(rows[0])] + "".join(rows)


def _convertible(column):
    return column.ndim == 1 and column.dtype.kind in _TEXT_KINDS


def _column_text(column):
    """The text of each value of a plain column, as astropy's ECSV writer gives it."""
    values = np.asarray(column)
    if values.dtype.kind == "f" and values.dtype.itemsize == 8:
        # Python's float repr is numpy's shortest repr of a float64: the same digits.
        # (Either byte order: FITS columns are big-endian.)
        text = list(map(float.__repr__, values.tolist()))
    elif values.dtype.kind == "f":
        text = values.astype(str).tolist()  # numpy's shortest repr at this precision
    elif values.dtype.kind == "U":
        uniques, inverse = np.unique(values, return_inverse=True)
        quoted = [_quoted(value) for value in uniques.tolist()]
        text = [quoted[k] for k in inverse.ravel().tolist()]
    else:
        text = list(map(str, values.tolist()))
    mask = getattr(column, "mask", None)
    if mask is not None:
        for index in np.flatnonzero(mask).tolist():
            text[index] = '""'
    return text


def _quoted(value):
    """A string field as astropy's writer puts it on the line: stripped, then quoted."""
    value = value.strip(" \t")
    if value == "":
        return '""'
    line = io.StringIO()
    csv.writer(line, delimiter=" ", quotechar='"', quoting=csv.QUOTE_MINIMAL).writerow([value])
    return line.getvalue().rstrip("\r\n")
