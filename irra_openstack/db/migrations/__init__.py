"""Alembic migrations of irra's database; run by irra_openstack.db.migration."""
