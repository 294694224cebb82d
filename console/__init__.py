"""The Exekra terminal console (Textual): operate the hub over its REST API from a terminal.

It imports only the shared :mod:`workflows` package and talks to the hub over HTTP
(:mod:`console.client`); ``exekra console`` starts :class:`console.app.ExekraConsole`.
"""
