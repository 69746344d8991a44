"""Execution modes behind one interface: see base.Runner."""
