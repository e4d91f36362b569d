"""Each user's Capture tokens in a table of the site's database (SQLite here; the same SQL
serves PostgreSQL or MySQL with their placeholders and upsert)."""

import sqlite3
from contextlib import closing

from flask_capture_link import Tokens
from flask_capture_link.storage import TokenStorage

SCHEMA = """
CREATE TABLE IF NOT EXISTS capture_tokens (
    owner TEXT PRIMARY KEY,  -- whose tokens: "user:<Flask-Login user id>"
    access_token TEXT NOT NULL,
    refresh_token TEXT,
    expires_at REAL
)
"""


class TableTokenStorage(TokenStorage):
    """The tokens of each user in the ``capture_tokens`` table of the database at ``path``."""

    def __init__(self, path):
        self.path = path
        self.run(SCHEMA)

    def run(self, sql, *values):
        with closing(sqlite3.connect(self.path)) as db, db:  # commits, then closes
            return db.execute(sql, values).fetchone()

    def load(self, user):
        row = self.run(
            "SELECT access_token, refresh_token, expires_at FROM capture_tokens WHERE owner = ?",
            user,
        )
        return Tokens(*row) if row else None

    def save(self, user, tokens):
        self.run(
            "INSERT OR REPLACE INTO capture_tokens VALUES (?, ?, ?, ?)",
            user,
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_at,
        )

    def forget(self, user):
        self.run("DELETE FROM capture_tokens WHERE owner = ?", user)
