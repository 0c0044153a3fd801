"""Forecast model versions and their live accuracy.

Revision ID: 3f9c2a7d5e41
Revises: 60c1b3a331a6
Create Date: 2026-11-23 10:00:00

Written by hand, with irra's naming convention spelled out (see the initial
schema).
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '3f9c2a7d5e41'
down_revision = '60c1b3a331a6'
branch_labels = None
depends_on = None

MYSQL = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def _datetime():
    return sa.DateTime().with_variant(
        mysql.DATETIME(fsp=6), 'mysql', 'mariadb')


def upgrade():
    """Create forecast_model_versions and forecast_accuracy."""
    op.create_table(
        'forecast_model_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('model_name', sa.String(255), nullable=False),
        sa.Column('data_set', sa.String(255), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('training_start', _datetime(), nullable=True),
        sa.Column('training_end', _datetime(), nullable=True),
        sa.Column('content_hash', sa.String(64), nullable=False),
        sa.Column('path', sa.String(1024), nullable=False),
        sa.Column('library_versions', sa.JSON(), nullable=False),
        sa.Column('created_at', _datetime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_forecast_model_versions'),
        sa.UniqueConstraint('uuid', name='uq_forecast_model_versions_uuid'),
        sa.UniqueConstraint(
            'model_name', 'data_set', 'version',
            name='uq_forecast_model_versions_model_name_data_set_version'),
        sa.CheckConstraint('version > 0',
                           name=op.f('ck_forecast_model_versions_version')),
        **MYSQL)

    op.create_table(
        'forecast_accuracy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('model_name', sa.String(255), nullable=False),
        sa.Column('model_version', sa.String(64), nullable=True),
        sa.Column('data_set', sa.String(255), nullable=False),
        sa.Column('metric', sa.String(255), nullable=True),
        sa.Column('level', sa.Double(), nullable=False),
        sa.Column('window_start', _datetime(), nullable=False),
        sa.Column('window_end', _datetime(), nullable=False),
        sa.Column('n_points', sa.Integer(), nullable=False),
        sa.Column('abs_error_sum', sa.Double(), nullable=False),
        sa.Column('naive_abs_error_sum', sa.Double(), nullable=True),
        sa.Column('n_inside', sa.Integer(), nullable=False),
        sa.Column('width_sum', sa.Double(), nullable=False),
        sa.Column('created_at', _datetime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_forecast_accuracy'),
        sa.CheckConstraint('n_points >= 0',
                           name=op.f('ck_forecast_accuracy_n_points')),
        sa.CheckConstraint('n_inside >= 0 AND n_inside <= n_points',
                           name=op.f('ck_forecast_accuracy_n_inside')),
        sa.CheckConstraint('level > 0 AND level < 1',
                           name=op.f('ck_forecast_accuracy_level')),
        sa.CheckConstraint('window_end >= window_start',
                           name=op.f('ck_forecast_accuracy_window')),
        **MYSQL)
    op.create_index('ix_forecast_accuracy_model_name_data_set_window_end',
                    'forecast_accuracy',
                    ['model_name', 'data_set', 'window_end'])
