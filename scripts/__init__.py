"""Scripts importable by tests."""
