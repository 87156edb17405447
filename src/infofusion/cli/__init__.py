"""Command-line interface: thin wrappers that parse, look up the registry and call the library."""
