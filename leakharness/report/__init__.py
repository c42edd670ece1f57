"""One Report value and its renderers (console, JSON)."""
