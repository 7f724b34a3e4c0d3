"""What PostgreSQL's ``synchronous_commit`` was inside the transactions that wrote a table:
the evidence, from the server itself, that a commit waited (or did not wait) for the WAL
flush. A statement trigger notes the setting in force each time; read the notes after.

    with db.begin() as conn:
        note_commit_setting(conn, "received", "INSERT")
    ...  # the code under test writes
    with db.connect() as conn:
        assert commit_settings(conn) == ["on"]
"""

from __future__ import annotations

from sqlalchemy import Connection


def note_commit_setting(conn: Connection, table: str, event: str) -> None:
    """From now on, each ``event`` statement on ``table`` notes the setting it ran under."""
    conn.exec_driver_sql("CREATE TABLE commit_setting (value text)")
    conn.exec_driver_sql(
        "CREATE FUNCTION note_setting() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO commit_setting VALUES (current_setting('synchronous_commit')); "
        "RETURN NULL; END $$")
    conn.exec_driver_sql(
        f"CREATE TRIGGER note_setting AFTER {event} ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION note_setting()")


def commit_settings(conn: Connection) -> list[str]:
    """The notes so far, in the order they were made."""
    return [r.value for r in conn.exec_driver_sql("SELECT value FROM commit_setting")]
