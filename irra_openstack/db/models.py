"""SQLAlchemy models of irra's database.

Every table has an integer primary key ``id`` for joins, and most have a
``uuid`` that is the id shown outside (API, command line, notifications).
Times are naive UTC. States are the constants of
:mod:`irra_openstack.db.constants`, enforced by check constraints. JSON
columns use SQLAlchemy's generic JSON type, which is native JSON on
PostgreSQL and MariaDB/MySQL and JSON text on sqlite.

The schema is created by the alembic migrations in
``irra_openstack/db/migrations``, never by ``create_all()`` outside tests; a
functional test checks that these models and the migrations agree.
"""

import array
import datetime
import sys

from oslo_utils import timeutils
from oslo_utils import uuidutils
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy import orm
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from irra_openstack.db import constants

#: Names of indexes and constraints, the same on every backend, so that a
#: later migration can refer to them by name.
NAMING_CONVENTION = {
    'ix': 'ix_%(table_name)s_%(column_0_N_name)s',
    'uq': 'uq_%(table_name)s_%(column_0_N_name)s',
    'ck': 'ck_%(table_name)s_%(constraint_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s',
    'pk': 'pk_%(table_name)s',
}

#: Table options for MySQL and MariaDB.
MYSQL_TABLE_ARGS = {'mysql_engine': 'InnoDB', 'mysql_charset': 'utf8mb4'}

#: Date and time, with microseconds on MySQL/MariaDB too.
DateTime = sa.DateTime().with_variant(
    mysql.DATETIME(fsp=6), 'mysql', 'mariadb')

#: Large binary values: a plain BLOB stops at 64 KiB on MySQL/MariaDB.
Blob = sa.LargeBinary().with_variant(mysql.MEDIUMBLOB(), 'mysql', 'mariadb')


class FloatArray(sa.types.TypeDecorator):
    """A sequence of floats stored compactly, as little-endian doubles.

    In Python the value is a list of floats (missing values are NaN); in the
    database it is 8 bytes a value, whatever the backend.
    """

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        """Use a MEDIUMBLOB on MySQL/MariaDB, a binary type elsewhere."""
        if dialect.name in ('mysql', 'mariadb'):
            return dialect.type_descriptor(mysql.MEDIUMBLOB())
        return dialect.type_descriptor(sa.LargeBinary())

    def process_bind_param(self, value, dialect):
        """Pack a sequence of floats into bytes."""
        if value is None:
            return None
        return pack_floats(value)

    def process_result_value(self, value, dialect):
        """Unpack bytes into a list of floats."""
        if value is None:
            return None
        return unpack_floats(value)


def pack_floats(values):
    """Pack a sequence of floats into little-endian doubles."""
    packed = array.array('d', (float(v) for v in values))
    if sys.byteorder != 'little':
        packed.byteswap()
    return packed.tobytes()


def unpack_floats(data):
    """Unpack little-endian doubles, as :func:`pack_floats` wrote them."""
    if len(data) % 8:
        raise ValueError('%d bytes is not a whole number of doubles' %
                         len(data))
    values = array.array('d')
    values.frombytes(bytes(data))
    if sys.byteorder != 'little':
        values.byteswap()
    return values.tolist()


def in_check(column, values):
    """SQL text of a check that ``column`` is one of ``values``."""
    return '%s IN (%s)' % (column, ', '.join("'%s'" % v for v in values))


def _utcnow():
    return timeutils.utcnow()


class Base(orm.DeclarativeBase):
    """Base of irra's models, with irra's naming convention."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

    type_annotation_map = {
        dict: sa.JSON,
        float: sa.Double,
        list: sa.JSON,
        datetime.datetime: DateTime,
    }

    def __repr__(self):
        ident = getattr(self, 'uuid', None) or getattr(self, 'id', None)
        return '<%s %s>' % (type(self).__name__, ident)


class _Uuid:
    """An external id: a UUID, unique, generated unless given."""

    uuid: Mapped[str] = mapped_column(
        sa.String(36), nullable=False, unique=True,
        default=uuidutils.generate_uuid)


class _Timestamps:
    """When a row was created and last updated."""

    created_at: Mapped[datetime.datetime] = mapped_column(
        nullable=False, default=_utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        onupdate=_utcnow)


class ForecastRun(_Uuid, Base):
    """One run of a forecaster, over one data set, with its accuracy."""

    __tablename__ = 'forecast_runs'
    __table_args__ = (
        sa.Index(None, 'model_name', 'created_at'),
        sa.CheckConstraint('horizon > 0', name='horizon'),
        sa.CheckConstraint('step > 0', name='step'),
        sa.CheckConstraint('level > 0 AND level < 1', name='level'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Name of the forecaster plugin (namespace irra.forecasters).
    model_name: Mapped[str] = mapped_column(sa.String(255))
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    parameters: Mapped[dict] = mapped_column(default=dict)
    #: Where the history came from: a datasource, a trace file.
    data_set: Mapped[str | None] = mapped_column(sa.String(255))
    #: Horizon and step, in seconds.
    horizon: Mapped[int]
    step: Mapped[int]
    #: Confidence level of the intervals, e.g. 0.9.
    level: Mapped[float]
    #: Mean absolute error of the point forecasts, when evaluated.
    mae: Mapped[float | None]
    #: Share of actual values inside the intervals, when evaluated.
    interval_coverage: Mapped[float | None]
    #: Other accuracy figures, by name (e.g. {"rmse": 1.2, "mase": 0.8}).
    accuracy: Mapped[dict | None]
    created_at: Mapped[datetime.datetime] = mapped_column(
        nullable=False, default=_utcnow)

    forecasts: Mapped[list['Forecast']] = orm.relationship(
        back_populates='run', cascade='all, delete-orphan',
        passive_deletes=True)


class Forecast(Base):
    """The forecast of one series (resource and metric) in a run.

    ``point``, ``lower`` and ``upper`` hold one value per step from
    ``start``: ``start + i * step`` is the time of value ``i``.
    """

    __tablename__ = 'forecasts'
    __table_args__ = (
        sa.UniqueConstraint('run_id', 'resource_kind', 'resource_id',
                            'metric'),
        sa.Index(None, 'resource_kind', 'resource_id', 'metric'),
        sa.CheckConstraint(in_check('resource_kind',
                                    constants.ResourceKind.ALL),
                           name='resource_kind'),
        sa.CheckConstraint('step > 0', name='step'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey('forecast_runs.id', ondelete='CASCADE'))
    #: A VM or host UUID, an application or region name.
    resource_id: Mapped[str] = mapped_column(sa.String(255))
    resource_kind: Mapped[str] = mapped_column(sa.String(16))
    metric: Mapped[str] = mapped_column(sa.String(255))
    start: Mapped[datetime.datetime]
    #: Seconds between two values.
    step: Mapped[int]
    point: Mapped[list] = mapped_column(FloatArray)
    lower: Mapped[list | None] = mapped_column(FloatArray)
    upper: Mapped[list | None] = mapped_column(FloatArray)

    run: Mapped[ForecastRun] = orm.relationship(back_populates='forecasts')


class Anomaly(_Uuid, _Timestamps, Base):
    """An anomaly seen on one resource, with its root-cause report."""

    __tablename__ = 'anomalies'
    __table_args__ = (
        sa.Index(None, 'resource_kind', 'resource_id'),
        sa.Index(None, 'project_id'),
        sa.Index(None, 'started_at'),
        sa.CheckConstraint(in_check('resource_kind',
                                    constants.ResourceKind.ALL),
                           name='resource_kind'),
        sa.CheckConstraint('severity >= 0', name='severity'),
        sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at',
                           name='ended_at'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[str] = mapped_column(sa.String(255))
    resource_kind: Mapped[str] = mapped_column(sa.String(16))
    #: What the detector saw, e.g. "interval" or "multivariate".
    kind: Mapped[str] = mapped_column(sa.String(64))
    metric: Mapped[str | None] = mapped_column(sa.String(255))
    #: Name of the detector plugin (namespace irra.anomaly_detectors).
    detector: Mapped[str] = mapped_column(sa.String(255))
    #: The detector's score, 0 or more; larger is worse.
    severity: Mapped[float]
    started_at: Mapped[datetime.datetime]
    ended_at: Mapped[datetime.datetime | None]
    #: The VMs and metrics that explain the anomaly.
    root_cause: Mapped[dict | None]
    project_id: Mapped[str | None] = mapped_column(sa.String(255))


class Plan(_Uuid, _Timestamps, Base):
    """A plan: the actions that one planning cycle decided."""

    __tablename__ = 'plans'
    __table_args__ = (
        sa.Index(None, 'state'),
        sa.Index(None, 'project_id'),
        sa.CheckConstraint(in_check('state', constants.PlanState.ALL),
                           name='state'),
        sa.CheckConstraint(in_check('automation_level',
                                    constants.AutomationLevel.ALL),
                           name='automation_level'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(
        sa.String(16), default=constants.PlanState.PENDING)
    #: What the plan covers: regions, hosts, applications.
    scope: Mapped[dict] = mapped_column(default=dict)
    automation_level: Mapped[str] = mapped_column(
        sa.String(16), default=constants.AutomationLevel.APPROVAL)
    project_id: Mapped[str | None] = mapped_column(sa.String(255))

    actions: Mapped[list['Action']] = orm.relationship(
        back_populates='plan', cascade='all, delete-orphan',
        passive_deletes=True, order_by='Action.id')


class Action(_Uuid, _Timestamps, Base):
    """One step of a plan, run at most once thanks to its idempotency key."""

    __tablename__ = 'actions'
    __table_args__ = (
        sa.UniqueConstraint('idempotency_key'),
        sa.Index(None, 'plan_id', 'state'),
        sa.Index(None, 'state'),
        sa.Index(None, 'resource_id'),
        sa.CheckConstraint(in_check('state', constants.ActionState.ALL),
                           name='state'),
        sa.CheckConstraint(in_check('resource_kind',
                                    constants.ResourceKind.ALL),
                           name='resource_kind'),
        sa.CheckConstraint('attempts >= 0', name='attempts'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey('plans.id', ondelete='CASCADE'))
    idempotency_key: Mapped[str] = mapped_column(sa.String(255))
    #: One of :class:`irra_openstack.db.constants.ActionType`, or an
    #: executor plugin's own.
    action_type: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(
        sa.String(16), default=constants.ActionState.PENDING)
    resource_id: Mapped[str] = mapped_column(sa.String(255))
    resource_kind: Mapped[str] = mapped_column(
        sa.String(16), default=constants.ResourceKind.VM)
    #: Host, region or provider the action moves from and to, if any.
    source: Mapped[str | None] = mapped_column(sa.String(255))
    destination: Mapped[str | None] = mapped_column(sa.String(255))
    #: Why the planner chose this action (forecast, constraint, cost).
    reason: Mapped[dict | None]
    attempts: Mapped[int] = mapped_column(default=0)
    #: The last error, for an operator to read.
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime.datetime | None]
    finished_at: Mapped[datetime.datetime | None]

    plan: Mapped[Plan] = orm.relationship(back_populates='actions')


class Reservation(_Uuid, _Timestamps, Base):
    """Capacity held in a region's Placement by a reservation consumer."""

    __tablename__ = 'reservations'
    __table_args__ = (
        sa.UniqueConstraint('consumer_uuid'),
        sa.Index(None, 'state', 'expires_at'),
        sa.Index(None, 'region'),
        sa.Index(None, 'project_id'),
        sa.CheckConstraint(in_check('state',
                                    constants.ReservationState.ALL),
                           name='state'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The Placement consumer that holds the allocation.
    consumer_uuid: Mapped[str] = mapped_column(sa.String(36))
    region: Mapped[str] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    #: Amounts by resource class, e.g. {"VCPU": 8, "MEMORY_MB": 16384}.
    resources: Mapped[dict]
    #: The resource providers the allocation is on.
    provider_uuids: Mapped[list] = mapped_column(default=list)
    expires_at: Mapped[datetime.datetime]
    state: Mapped[str] = mapped_column(
        sa.String(16), default=constants.ReservationState.PENDING)


class MarketTrade(_Uuid, Base):
    """Capacity that one region bought from another, at the LP's price."""

    __tablename__ = 'market_trades'
    __table_args__ = (
        sa.Index(None, 'created_at'),
        sa.Index(None, 'buyer_region'),
        sa.Index(None, 'seller_region'),
        sa.CheckConstraint('buyer_region <> seller_region', name='regions'),
        sa.CheckConstraint('quantity > 0', name='quantity'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_region: Mapped[str] = mapped_column(sa.String(255))
    seller_region: Mapped[str] = mapped_column(sa.String(255))
    resource_class: Mapped[str] = mapped_column(sa.String(255))
    quantity: Mapped[float]
    #: Price of one unit of the resource class.
    price: Mapped[float]
    plan_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey('plans.id', ondelete='SET NULL'), index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(
        nullable=False, default=_utcnow)

    plan: Mapped[Plan | None] = orm.relationship()


class MarketOrder(_Uuid, Base):
    """An offer or a bid that a region posted in one market round.

    An offer (``side`` 'sell') is spare capacity at an ask equal to the
    region's marginal cost; a bid ('buy') is predicted shortfall at the SLA
    penalty. The orders of one round share ``round_uuid``.
    """

    __tablename__ = 'market_orders'
    __table_args__ = (
        sa.Index(None, 'created_at'),
        sa.Index(None, 'round_uuid'),
        sa.Index(None, 'region'),
        sa.CheckConstraint("side IN ('buy', 'sell')", name='side'),
        sa.CheckConstraint('quantity > 0', name='quantity'),
        sa.CheckConstraint('price >= 0', name='price'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_uuid: Mapped[str] = mapped_column(sa.String(36))
    region: Mapped[str] = mapped_column(sa.String(255))
    resource_class: Mapped[str] = mapped_column(sa.String(255))
    side: Mapped[str] = mapped_column(sa.String(4))
    quantity: Mapped[float]
    #: Ask or bid, per unit of the resource class.
    price: Mapped[float]
    plan_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey('plans.id', ondelete='SET NULL'), index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(
        nullable=False, default=_utcnow)

    plan: Mapped[Plan | None] = orm.relationship()


class SLA(_Uuid, _Timestamps, Base):
    """A service level: the headroom to keep, at what confidence."""

    __tablename__ = 'slas'
    __table_args__ = (
        sa.UniqueConstraint('name'),
        sa.Index(None, 'project_id'),
        sa.CheckConstraint('confidence_level > 0 AND confidence_level < 1',
                           name='confidence_level'),
        sa.CheckConstraint('headroom >= 0', name='headroom'),
        sa.CheckConstraint('penalty >= 0', name='penalty'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    tier: Mapped[str] = mapped_column(sa.String(64))
    #: Probability that predicted demand plus headroom is met, e.g. 0.95.
    confidence_level: Mapped[float]
    #: Capacity kept free above the forecast, as a fraction (0.2 = 20 %).
    headroom: Mapped[float] = mapped_column(default=0.0)
    #: Cost of one violation, in the cost models' unit.
    penalty: Mapped[float] = mapped_column(default=0.0)


class CostModel(_Uuid, _Timestamps, Base):
    """A named, configured cost model plugin (namespace irra.cost_models)."""

    __tablename__ = 'cost_models'
    __table_args__ = (
        sa.UniqueConstraint('name'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    plugin: Mapped[str] = mapped_column(sa.String(255))
    parameters: Mapped[dict] = mapped_column(default=dict)


class HeadroomSnapshot(Base):
    """One generation of the headroom snapshot read by nova-scheduler.

    The whole snapshot is one row, so that nova-scheduler loads it with one
    SELECT: ``data`` is the snapshot encoded by
    :func:`irra_openstack.scheduler.snapshot.encode` (zlib-compressed
    JSON, per compute node: predicted peak upper bound, capacity and
    allocation ratio, and irra reservations, per resource class). The other
    columns repeat what a reader needs without decoding it.
    """

    __tablename__ = 'headroom_snapshots'
    __table_args__ = (
        sa.UniqueConstraint('generation'),
        sa.CheckConstraint('generation > 0', name='generation'),
        sa.CheckConstraint('host_count >= 0', name='host_count'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 1, 2, ...: a new snapshot has a larger generation than the last.
    generation: Mapped[int] = mapped_column(sa.BigInteger)
    #: When the engine built it (naive UTC); its age is counted from here.
    created_at: Mapped[datetime.datetime]
    #: The forecast horizon it covers, in seconds.
    horizon: Mapped[int | None]
    #: Number of compute nodes in it.
    host_count: Mapped[int]
    #: Version of the encoding of ``data``.
    format: Mapped[int]
    data: Mapped[bytes] = mapped_column(Blob)


class ForecastModelVersion(_Uuid, Base):
    """A trained forecast model saved in the model registry.

    The model itself is a file of the registry
    (:mod:`irra_openstack.forecast.registry`); this row records what it is,
    what it was trained on and the hash of its content.
    """

    __tablename__ = 'forecast_model_versions'
    __table_args__ = (
        sa.UniqueConstraint('model_name', 'data_set', 'version'),
        sa.CheckConstraint('version > 0', name='version'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Name of the forecaster plugin (namespace irra.forecasters).
    model_name: Mapped[str] = mapped_column(sa.String(255))
    #: What it was trained on: a datasource and metric, a trace file.
    data_set: Mapped[str] = mapped_column(sa.String(255))
    #: 1, 2, ... per model name and data set.
    version: Mapped[int]
    #: The constructor arguments of the model.
    parameters: Mapped[dict] = mapped_column(default=dict)
    #: The history it was trained on, first and last step.
    training_start: Mapped[datetime.datetime | None]
    training_end: Mapped[datetime.datetime | None]
    #: SHA-256 of the saved model file, hexadecimal.
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    #: Where the registry keeps the model file.
    path: Mapped[str] = mapped_column(sa.String(1024))
    #: Versions of Python and of the libraries it was saved with.
    library_versions: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime.datetime] = mapped_column(
        nullable=False, default=_utcnow)


class ForecastAccuracy(Base):
    """The accuracy of a model's forecasts, once their actuals arrived.

    One row per evaluation: sums over the forecast steps evaluated, so that
    rolling figures over any window are exact ratios of sums (MAE =
    ``sum(abs_error_sum) / sum(n_points)``, coverage = ``sum(n_inside) /
    sum(n_points)``, relMAE = MAE over the naive forecast's MAE on the same
    points).
    """

    __tablename__ = 'forecast_accuracy'
    __table_args__ = (
        sa.Index(None, 'model_name', 'data_set', 'window_end'),
        sa.CheckConstraint('n_points >= 0', name='n_points'),
        sa.CheckConstraint('n_inside >= 0 AND n_inside <= n_points',
                           name='n_inside'),
        sa.CheckConstraint('level > 0 AND level < 1', name='level'),
        sa.CheckConstraint('window_end >= window_start', name='window'),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_name: Mapped[str] = mapped_column(sa.String(255))
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    data_set: Mapped[str] = mapped_column(sa.String(255))
    metric: Mapped[str | None] = mapped_column(sa.String(255))
    #: Nominal coverage of the evaluated intervals.
    level: Mapped[float]
    #: Times of the first and last forecast step evaluated.
    window_start: Mapped[datetime.datetime]
    window_end: Mapped[datetime.datetime]
    #: Number of (series, step) values with a known actual.
    n_points: Mapped[int]
    #: Sum of |actual - point| over them.
    abs_error_sum: Mapped[float]
    #: The same for the naive forecast (last value before the origin).
    naive_abs_error_sum: Mapped[float | None]
    #: How many actual values were inside [lower, upper].
    n_inside: Mapped[int]
    #: Sum of upper - lower.
    width_sum: Mapped[float]
    created_at: Mapped[datetime.datetime] = mapped_column(
        nullable=False, default=_utcnow)
