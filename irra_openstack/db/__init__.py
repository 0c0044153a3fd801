"""irra's database: models, access and migrations."""
