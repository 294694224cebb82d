"""The ``exekra`` command: one entry point whose subcommands start each part of the platform."""

__version__ = "0.1.0"
