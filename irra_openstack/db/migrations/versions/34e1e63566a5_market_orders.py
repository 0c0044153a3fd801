"""Market orders: the offers and bids each region posts in a round.

Revision ID: 34e1e63566a5
Revises: 3831003ad0b9
Create Date: 2026-11-22 06:45:00

Written by hand, with irra's naming convention spelled out (see the initial
schema). Until now irra-api derived offers and bids from the recorded
trades, at the trades' prices; these rows keep what was actually posted:
spare capacity at its ask, shortfall at its bid.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '34e1e63566a5'
down_revision = '3831003ad0b9'
branch_labels = None
depends_on = None

MYSQL = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}


def upgrade():
    """Create market_orders."""
    op.create_table(
        'market_orders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('round_uuid', sa.String(36), nullable=False),
        sa.Column('region', sa.String(255), nullable=False),
        sa.Column('resource_class', sa.String(255), nullable=False),
        sa.Column('side', sa.String(4), nullable=False),
        sa.Column('quantity', sa.Double(), nullable=False),
        sa.Column('price', sa.Double(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime().with_variant(
            mysql.DATETIME(fsp=6), 'mysql', 'mariadb'), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_market_orders'),
        sa.UniqueConstraint('uuid', name='uq_market_orders_uuid'),
        sa.ForeignKeyConstraint(['plan_id'], ['plans.id'],
                                ondelete='SET NULL',
                                name='fk_market_orders_plan_id_plans'),
        sa.CheckConstraint("side IN ('buy', 'sell')",
                           name=op.f('ck_market_orders_side')),
        sa.CheckConstraint('quantity > 0',
                           name=op.f('ck_market_orders_quantity')),
        sa.CheckConstraint('price >= 0',
                           name=op.f('ck_market_orders_price')),
        **MYSQL)
    op.create_index('ix_market_orders_created_at', 'market_orders',
                    ['created_at'])
    op.create_index('ix_market_orders_round_uuid', 'market_orders',
                    ['round_uuid'])
    op.create_index('ix_market_orders_region', 'market_orders', ['region'])
    op.create_index('ix_market_orders_plan_id', 'market_orders',
                    ['plan_id'])
