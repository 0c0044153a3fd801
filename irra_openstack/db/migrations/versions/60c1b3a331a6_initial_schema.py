"""Initial schema: forecasts, anomalies, plans, reservations, market, SLAs.

Revision ID: 60c1b3a331a6
Revises:
Create Date: 2026-11-22 03:20:00

Written by hand. Constraint and index names are irra's naming convention
(irra_openstack.db.models.NAMING_CONVENTION) spelled out; check constraint
names go through op.f() so that the convention is not applied twice. The
allowed values of the state and kind columns are
spelled out here on purpose: a migration records the schema as it was, and
must not follow later changes to irra_openstack.db.constants.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '60c1b3a331a6'
down_revision = None
branch_labels = None
depends_on = None

MYSQL = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}
RESOURCE_KINDS = "('vm', 'host', 'app', 'region')"


def _datetime():
    return sa.DateTime().with_variant(
        mysql.DATETIME(fsp=6), 'mysql', 'mariadb')


def _blob():
    return sa.LargeBinary().with_variant(
        mysql.MEDIUMBLOB(), 'mysql', 'mariadb')


def _id(table):
    return [sa.Column('id', sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint('id', name='pk_%s' % table)]


def _uuid(table):
    return [sa.Column('uuid', sa.String(36), nullable=False),
            sa.UniqueConstraint('uuid', name='uq_%s_uuid' % table)]


def _timestamps():
    return [sa.Column('created_at', _datetime(), nullable=False),
            sa.Column('updated_at', _datetime(), nullable=True)]


def upgrade():
    """Create every table of irra's first schema."""
    op.create_table(
        'forecast_runs',
        *_id('forecast_runs'),
        *_uuid('forecast_runs'),
        sa.Column('model_name', sa.String(255), nullable=False),
        sa.Column('model_version', sa.String(64), nullable=True),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('data_set', sa.String(255), nullable=True),
        sa.Column('horizon', sa.Integer(), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('level', sa.Double(), nullable=False),
        sa.Column('mae', sa.Double(), nullable=True),
        sa.Column('interval_coverage', sa.Double(), nullable=True),
        sa.Column('accuracy', sa.JSON(), nullable=True),
        sa.Column('created_at', _datetime(), nullable=False),
        sa.CheckConstraint('horizon > 0',
                           name=op.f('ck_forecast_runs_horizon')),
        sa.CheckConstraint('step > 0', name=op.f('ck_forecast_runs_step')),
        sa.CheckConstraint('level > 0 AND level < 1',
                           name=op.f('ck_forecast_runs_level')),
        **MYSQL)
    op.create_index('ix_forecast_runs_model_name_created_at',
                    'forecast_runs', ['model_name', 'created_at'])

    op.create_table(
        'forecasts',
        *_id('forecasts'),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('resource_id', sa.String(255), nullable=False),
        sa.Column('resource_kind', sa.String(16), nullable=False),
        sa.Column('metric', sa.String(255), nullable=False),
        sa.Column('start', _datetime(), nullable=False),
        sa.Column('step', sa.Integer(), nullable=False),
        sa.Column('point', _blob(), nullable=False),
        sa.Column('lower', _blob(), nullable=True),
        sa.Column('upper', _blob(), nullable=True),
        sa.ForeignKeyConstraint(
            ['run_id'], ['forecast_runs.id'], ondelete='CASCADE',
            name='fk_forecasts_run_id_forecast_runs'),
        sa.UniqueConstraint(
            'run_id', 'resource_kind', 'resource_id', 'metric',
            name='uq_forecasts_run_id_resource_kind_resource_id_metric'),
        sa.CheckConstraint('resource_kind IN %s' % RESOURCE_KINDS,
                           name=op.f('ck_forecasts_resource_kind')),
        sa.CheckConstraint('step > 0', name=op.f('ck_forecasts_step')),
        **MYSQL)
    op.create_index('ix_forecasts_resource_kind_resource_id_metric',
                    'forecasts', ['resource_kind', 'resource_id', 'metric'])

    op.create_table(
        'anomalies',
        *_id('anomalies'),
        *_uuid('anomalies'),
        *_timestamps(),
        sa.Column('resource_id', sa.String(255), nullable=False),
        sa.Column('resource_kind', sa.String(16), nullable=False),
        sa.Column('kind', sa.String(64), nullable=False),
        sa.Column('metric', sa.String(255), nullable=True),
        sa.Column('detector', sa.String(255), nullable=False),
        sa.Column('severity', sa.Double(), nullable=False),
        sa.Column('started_at', _datetime(), nullable=False),
        sa.Column('ended_at', _datetime(), nullable=True),
        sa.Column('root_cause', sa.JSON(), nullable=True),
        sa.Column('project_id', sa.String(255), nullable=True),
        sa.CheckConstraint('resource_kind IN %s' % RESOURCE_KINDS,
                           name=op.f('ck_anomalies_resource_kind')),
        sa.CheckConstraint('severity >= 0',
                           name=op.f('ck_anomalies_severity')),
        sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at',
                           name=op.f('ck_anomalies_ended_at')),
        **MYSQL)
    op.create_index('ix_anomalies_resource_kind_resource_id', 'anomalies',
                    ['resource_kind', 'resource_id'])
    op.create_index('ix_anomalies_project_id', 'anomalies', ['project_id'])
    op.create_index('ix_anomalies_started_at', 'anomalies', ['started_at'])

    op.create_table(
        'plans',
        *_id('plans'),
        *_uuid('plans'),
        *_timestamps(),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('automation_level', sa.String(16), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=True),
        sa.CheckConstraint(
            "state IN ('PENDING', 'APPROVED', 'ONGOING', 'SUCCEEDED', "
            "'FAILED', 'CANCELLED', 'SUPERSEDED')",
            name=op.f('ck_plans_state')),
        sa.CheckConstraint(
            "automation_level IN ('advisory', 'approval', 'automatic')",
            name=op.f('ck_plans_automation_level')),
        **MYSQL)
    op.create_index('ix_plans_state', 'plans', ['state'])
    op.create_index('ix_plans_project_id', 'plans', ['project_id'])

    op.create_table(
        'actions',
        *_id('actions'),
        *_uuid('actions'),
        *_timestamps(),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(255), nullable=False),
        sa.Column('action_type', sa.String(64), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('resource_id', sa.String(255), nullable=False),
        sa.Column('resource_kind', sa.String(16), nullable=False),
        sa.Column('source', sa.String(255), nullable=True),
        sa.Column('destination', sa.String(255), nullable=True),
        sa.Column('reason', sa.JSON(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('started_at', _datetime(), nullable=True),
        sa.Column('finished_at', _datetime(), nullable=True),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                                ondelete='CASCADE',
                                name='fk_actions_plan_id_plans'),
        sa.UniqueConstraint('idempotency_key',
                            name='uq_actions_idempotency_key'),
        sa.CheckConstraint(
            "state IN ('PENDING', 'ONGOING', 'SUCCEEDED', 'FAILED', "
            "'SKIPPED', 'CANCELLED')",
            name=op.f('ck_actions_state')),
        sa.CheckConstraint('resource_kind IN %s' % RESOURCE_KINDS,
                           name=op.f('ck_actions_resource_kind')),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_actions_attempts')),
        **MYSQL)
    op.create_index('ix_actions_plan_id_state', 'actions',
                    ['plan_id', 'state'])
    op.create_index('ix_actions_state', 'actions', ['state'])
    op.create_index('ix_actions_resource_id', 'actions', ['resource_id'])

    op.create_table(
        'reservations',
        *_id('reservations'),
        *_uuid('reservations'),
        *_timestamps(),
        sa.Column('consumer_uuid', sa.String(36), nullable=False),
        sa.Column('region', sa.String(255), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=True),
        sa.Column('resources', sa.JSON(), nullable=False),
        sa.Column('provider_uuids', sa.JSON(), nullable=False),
        sa.Column('expires_at', _datetime(), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.UniqueConstraint('consumer_uuid',
                            name='uq_reservations_consumer_uuid'),
        sa.CheckConstraint(
            "state IN ('PENDING', 'ACTIVE', 'CONVERTED', 'RELEASED', "
            "'EXPIRED', 'FAILED')",
            name=op.f('ck_reservations_state')),
        **MYSQL)
    op.create_index('ix_reservations_state_expires_at', 'reservations',
                    ['state', 'expires_at'])
    op.create_index('ix_reservations_region', 'reservations', ['region'])
    op.create_index('ix_reservations_project_id', 'reservations',
                    ['project_id'])

    op.create_table(
        'market_trades',
        *_id('market_trades'),
        *_uuid('market_trades'),
        sa.Column('buyer_region', sa.String(255), nullable=False),
        sa.Column('seller_region', sa.String(255), nullable=False),
        sa.Column('resource_class', sa.String(255), nullable=False),
        sa.Column('quantity', sa.Double(), nullable=False),
        sa.Column('price', sa.Double(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=True),
        sa.Column('created_at', _datetime(), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                                ondelete='SET NULL',
                                name='fk_market_trades_plan_id_plans'),
        sa.CheckConstraint('buyer_region <> seller_region',
                           name=op.f('ck_market_trades_regions')),
        sa.CheckConstraint('quantity > 0',
                           name=op.f('ck_market_trades_quantity')),
        **MYSQL)
    op.create_index('ix_market_trades_created_at', 'market_trades',
                    ['created_at'])
    op.create_index('ix_market_trades_buyer_region', 'market_trades',
                    ['buyer_region'])
    op.create_index('ix_market_trades_seller_region', 'market_trades',
                    ['seller_region'])
    op.create_index('ix_market_trades_plan_id', 'market_trades', ['plan_id'])

    op.create_table(
        'slas',
        *_id('slas'),
        *_uuid('slas'),
        *_timestamps(),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=True),
        sa.Column('tier', sa.String(64), nullable=False),
        sa.Column('confidence_level', sa.Double(), nullable=False),
        sa.Column('headroom', sa.Double(), nullable=False),
        sa.Column('penalty', sa.Double(), nullable=False),
        sa.UniqueConstraint('name', name='uq_slas_name'),
        sa.CheckConstraint('confidence_level > 0 AND confidence_level < 1',
                           name=op.f('ck_slas_confidence_level')),
        sa.CheckConstraint('headroom >= 0', name=op.f('ck_slas_headroom')),
        sa.CheckConstraint('penalty >= 0', name=op.f('ck_slas_penalty')),
        **MYSQL)
    op.create_index('ix_slas_project_id', 'slas', ['project_id'])

    op.create_table(
        'cost_models',
        *_id('cost_models'),
        *_uuid('cost_models'),
        *_timestamps(),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('plugin', sa.String(255), nullable=False),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.UniqueConstraint('name', name='uq_cost_models_name'),
        **MYSQL)
