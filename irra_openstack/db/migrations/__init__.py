"""Alembic migrations of irra's database, run by db.migration."""
