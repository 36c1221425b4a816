"""Database access: declarative base, engines for SQLite and PostgreSQL, sessions, migrations."""
