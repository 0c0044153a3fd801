"""One module per alembic revision of irra's database schema."""
