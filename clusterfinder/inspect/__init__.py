"""Visual inspection of cluster candidates in a self-contained web page.

`make_inspection_page` writes one HTML file (stamps, script and style inside) on
which an inspector classifies candidates with the keyboard; the decisions persist
in the browser and export to JSON. `read_decisions` and `apply_decisions` bring
them back to Python, `merge_decisions` combines several inspectors, and
`InspectionServer` serves the page so that each decision is saved to disk as it
is made.
"""

from .decisions import (
    DECISIONS,
    Decisions,
    apply_decisions,
    candidate_ids,
    catalog_id,
    fleiss_kappa,
    merge_decisions,
    read_decisions,
    write_decisions,
)
from .page import make_inspection_page, page_data
from .server import InspectionServer

__all__ = [
    "DECISIONS",
    "Decisions",
    "InspectionServer",
    "apply_decisions",
    "candidate_ids",
    "catalog_id",
    "fleiss_kappa",
    "make_inspection_page",
    "merge_decisions",
    "page_data",
    "read_decisions",
    "write_decisions",
]
