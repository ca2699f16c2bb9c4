"""postcart: a headless commerce backend in which PostgreSQL is the application."""

__version__ = "0.1.0"
