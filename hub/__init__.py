"""The Exekra hub: REST API, scheduling, dispatch, licensing and audit."""

__version__ = "0.1.0"
