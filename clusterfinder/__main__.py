"""Allow ``python -m clusterfinder``."""

import sys

from clusterfinder.cli import main

sys.exit(main())
