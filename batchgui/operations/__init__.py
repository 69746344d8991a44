"""Built-in operations and the registry that finds plugins (no Qt here)."""
