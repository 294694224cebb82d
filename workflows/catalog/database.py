"""SQL databases: SQLite, PostgreSQL and MySQL/MariaDB, by connection URL."""

from __future__ import annotations

from . import Activity, Param, category, register

category("database", "Database")

register(
    Activity(
        type="database.query",
        title="Database query",
        description=(
            "Run one SQL statement with parameters against `sqlite:///path`, "
            "`postgresql://user:pass@host/db` or `mysql://user:pass@host/db`. Values go in "
            "`params` — a list for positional placeholders (`?` for SQLite, `%s` for "
            "PostgreSQL/MySQL) or an object for named ones (`:name` for SQLite, `%(name)s` for "
            "PostgreSQL/MySQL) — never into the SQL text. Rows come back as a "
            "list of objects; a statement without rows gives {rowcount}. Use `{{credential}}` "
            "as the password in the URL together with `credential`."
        ),
        params=(
            Param("connection", "string", required=True, description="connection URL"),
            Param("sql", "code", required=True),
            Param("params", "any", description="a list or an object of values"),
            Param("credential", "string", description="vault credential name"),
            Param("timeout", "number", default=30, description="connect timeout, seconds"),
            Param("output", "variable", description="variable for the rows"),
        ),
        output="list",
    ),
)
