"""`python -m batchgui`: the same as the `batchgui` command."""

import sys

from batchgui.cli import main

if __name__ == "__main__":
    sys.exit(main())
