"""Run a scan in a child process (killed by test_scan to test resuming)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _scan_helpers import FakeClassifier
from astropy.table import QTable

from clusterfinder.scan import scan

if __name__ == "__main__":
    folder, output, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    sources = QTable.read(Path(folder) / "sources.ecsv")
    scan(FakeClassifier(delay=delay), folder, output, sources=sources, tile_size=32)
