"""Online access to catalogues in VizieR, through `astroquery.vizier`.

Every catalogue reader of `clusterfinder.labels.readers` that has an online path
fetches its table here, so that network errors are reported one way and tests
can replace `astroquery.vizier.Vizier.get_catalogs` with a recorded answer.
"""

__all__ = ["get_vizier_table"]


def get_vizier_table(catalog, *, table=None, row_limit=-1):
    """Download one table of a VizieR catalogue, all rows and all columns.

    Parameters
    ----------
    catalog : str
        The VizieR identifier, e.g. ``"J/ApJ/802/127"``.
    table : str, optional
        The table inside the catalogue, matched against the end of the VizieR
        table name (``"table2"`` matches ``"J/ApJ/802/127/table2"``). If `None`,
        the catalogue must hold exactly one table.
    row_limit : int, optional
        Largest number of rows to fetch; -1 (the default) means all of them.

    Returns
    -------
    `~astropy.table.Table`
        The table as VizieR serves it (its own column names and units).

    Raises
    ------
    OSError
        When VizieR cannot be reached or does not answer.
    ValueError
        When the catalogue or the table is not found.

    Examples
    --------
    >>> from clusterfinder.labels.vizier import get_vizier_table
    >>> phat = get_vizier_table("J/ApJ/802/127", table="table2")  # doctest: +REMOTE_DATA
    >>> len(phat) > 2000  # doctest: +REMOTE_DATA
    True
    """
    if not isinstance(catalog, str) or not catalog.strip():
        raise TypeError(f"catalog must be a VizieR identifier string; got {catalog!r}")
    if table is not None and not isinstance(table, str):
        raise TypeError(f"table must be a string or None; got {type(table).__name__}")
    try:
        from astroquery.vizier import Vizier
    except ImportError as error:  # pragma: no cover - astroquery is a dependency
        raise ImportError("online catalogues need astroquery (pip install astroquery)") from error

    vizier = Vizier(row_limit=row_limit, columns=["**"])
    try:
        tables = vizier.get_catalogs(catalog)
    except Exception as error:  # network layers raise many types; report one
        raise OSError(f"could not fetch {catalog} from VizieR: {error}") from error
    if not hasattr(tables, "keys"):
        # astroquery returns None when the body is neither a VOTable nor a VizieR
        # text or FITS answer (an error page from a proxy, say).
        raise OSError(f"VizieR did not answer {catalog} with a VOTable (got {tables!r})")
    keys = list(tables.keys())
    if not keys:
        raise ValueError(f"VizieR returned no table for catalogue {catalog!r}")
    if table is None:
        if len(keys) > 1:
            raise ValueError(
                f"catalogue {catalog!r} holds several tables {keys}; choose one with table="
            )
        return tables[keys[0]]
    chosen = [key for key in keys if key.rstrip("/").split("/")[-1] == table or key.endswith(table)]
    if not chosen:
        raise ValueError(f"catalogue {catalog!r} has no table {table!r}; it holds {keys}")
    return tables[chosen[0]]
