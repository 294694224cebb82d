"""The Exekra runner: agent daemon, workflow engine and activity library."""

__version__ = "0.1.0"
