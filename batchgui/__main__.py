"""`python -m batchgui`, and the frozen bundle's entry script: the `batchgui` command.

freeze_support() runs before anything else is imported, so a frozen bundle's
spawned worker processes go straight to their work instead of re-running main.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()

    from batchgui.cli import main

    sys.exit(main())
