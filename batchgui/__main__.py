"""`python -m batchgui`, and the frozen bundle's entry script: the `batchgui` command.

freeze_support() runs before anything else is imported, so a frozen bundle's
spawned worker processes go straight to their work instead of re-running main.
"""

import sys

if __name__ == "__main__":
    if getattr(sys, "frozen", False):  # otherwise it does nothing: no need to import it
        import multiprocessing

        multiprocessing.freeze_support()
    if sys.argv[1:2] == ["--batchgui-guardian"]:  # core/platform/guardian.py (bundle)
        from batchgui.core.platform.guardian import run_guardian

        run_guardian()
        sys.exit(0)

    from batchgui.cli import main

    sys.exit(main())
