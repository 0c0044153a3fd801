"""Headroom snapshots read by the Nova scheduler filter and weigher.

Revision ID: 3831003ad0b9
Revises: 3f9c2a7d5e41
Create Date: 2026-11-23 12:00:00

Written by hand, with irra's naming convention spelled out (see the initial
schema). One row per generation: nova-scheduler loads a snapshot with one
SELECT.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '3831003ad0b9'
down_revision = '3f9c2a7d5e41'
branch_labels = None
depends_on = None

MYSQL = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def upgrade():
    """Create headroom_snapshots."""
    op.create_table(
        'headroom_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('generation', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime().with_variant(
            mysql.DATETIME(fsp=6), 'mysql', 'mariadb'), nullable=False),
        sa.Column('horizon', sa.Integer(), nullable=True),
        sa.Column('host_count', sa.Integer(), nullable=False),
        sa.Column('format', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary().with_variant(
            mysql.MEDIUMBLOB(), 'mysql', 'mariadb'), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_headroom_snapshots'),
        sa.UniqueConstraint('generation',
                            name='uq_headroom_snapshots_generation'),
        sa.CheckConstraint('generation > 0',
                           name=op.f('ck_headroom_snapshots_generation')),
        sa.CheckConstraint('host_count >= 0',
                           name=op.f('ck_headroom_snapshots_host_count')),
        **MYSQL)
