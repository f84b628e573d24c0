"""``python -m sfemu …`` (see :mod:`sfemu.cli`)."""

import sys

from sfemu.cli import main

if __name__ == "__main__":
    sys.exit(main())
