"""Finding the input files of a batch (no Qt here)."""
