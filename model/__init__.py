"""heelnet."""
