"""A small, known data set for the API tests, and the app over it.

Two projects, p1 and p2, own plans, actions, reservations, anomalies and
SLAs; forecasts, trades, cost models and a headroom snapshot belong to no
project. The ids are fixed, so that tests can name them; :data:`IDS` maps
a name to each, and :func:`environ` exports them for gabbi's $ENVIRON.
"""

import datetime
import json
import math
import os
import zlib

from oslo_config import cfg
from oslo_middleware import cors

from irra_openstack.api import deploy
from irra_openstack import conf as irra_conf
from irra_openstack.db import api as db_api
from irra_openstack.db import migration
from irra_openstack.db import models


def _uuid(n):
    return '00000000-0000-4000-8000-%012d' % n


IDS = {
    'PLAN_PENDING': _uuid(1),
    'PLAN_ADVISORY': _uuid(2),
    'PLAN_ONGOING': _uuid(3),
    'PLAN_FAILED': _uuid(4),
    'PLAN_P2': _uuid(5),
    'PLAN_CANCELLED': _uuid(6),
    'ACTION_PENDING': _uuid(11),
    'ACTION_DONE': _uuid(12),
    'ACTION_FAILED': _uuid(13),
    'ACTION_OK': _uuid(14),
    'ACTION_P2': _uuid(15),
    'ACTION_PLAN_PENDING': _uuid(16),
    'RES_ACTIVE': _uuid(21),
    'RES_RELEASED': _uuid(22),
    'RES_P2': _uuid(23),
    'ANOMALY_P1': _uuid(31),
    'ANOMALY_P2': _uuid(32),
    'ANOMALY_NONE': _uuid(33),
    'RUN': _uuid(41),
    'TRADE_1': _uuid(51),
    'TRADE_2': _uuid(52),
    'SLA_P1': _uuid(61),
    'SLA_P2': _uuid(62),
    'COST_MODEL': _uuid(71),
    'MISSING': _uuid(99),
}

#: Forecasts in the data set (ids 1 to FORECASTS).
FORECASTS = 5

T0 = datetime.datetime(2026, 1, 1, 0, 0, 0)


def environ():
    """Export the ids as IRRA_<NAME> environment variables."""
    for name, value in IDS.items():
        os.environ['IRRA_' + name] = value


def make_conf(db_url, **api_options):
    """A private, parsed configuration for an app on ``db_url``."""
    conf = cfg.ConfigOpts()
    irra_conf.register_opts(conf)
    conf([], project='irra', default_config_files=[])
    conf.set_override('connection', db_url, group='database')
    conf.set_override('auth_strategy', 'noauth2', group='api')
    conf.register_opts(cors.CORS_OPTS, 'cors')
    conf.set_override('allowed_origin', ['http://dashboard.example.com'],
                      group='cors')
    for name, value in api_options.items():
        conf.set_override(name, value, group='api')
    return conf


def make_app(db_url, notifier=None, **api_options):
    """A migrated, seeded database at ``db_url`` and an app over it."""
    conf = make_conf(db_url, **api_options)
    db_api.configure(conf)
    migration.upgrade()
    seed()
    return conf, deploy.loadapp(conf, notifier=notifier)


def _plan(session, key, state, project, level='approval', scope=None):
    plan = models.Plan(uuid=IDS[key], state=state, project_id=project,
                       automation_level=level,
                       scope=scope or {'region': 'R1', 'mode': 'one-shot'},
                       created_at=T0)
    session.add(plan)
    session.flush()
    return plan


def _action(session, plan, key, state, n):
    session.add(models.Action(
        uuid=IDS[key], plan_id=plan.id, idempotency_key='key-%d' % n,
        action_type='live_migrate', state=state,
        resource_id='vm-%d' % n, resource_kind='vm', source='host-a',
        destination='host-b', reason={'forecast': 'host-a overloaded'},
        attempts=1 if state == 'FAILED' else 0,
        error='migration timed out' if state == 'FAILED' else None,
        created_at=T0))


def seed():
    """Write the data set into the configured database."""
    with db_api.write_session() as session:
        pending = _plan(session, 'PLAN_PENDING', 'PENDING', 'p1',
                        scope={'region': 'R1', 'mode': 'one-shot',
                               'automation_level': 'manual',
                               'description': 'rebalance R1'})
        _action(session, pending, 'ACTION_PLAN_PENDING', 'PENDING', 6)
        _plan(session, 'PLAN_ADVISORY', 'PENDING', 'p1', level='advisory')
        ongoing = _plan(session, 'PLAN_ONGOING', 'ONGOING', 'p1')
        _action(session, ongoing, 'ACTION_PENDING', 'PENDING', 1)
        _action(session, ongoing, 'ACTION_DONE', 'SUCCEEDED', 2)
        failed = _plan(session, 'PLAN_FAILED', 'FAILED', 'p1')
        _action(session, failed, 'ACTION_FAILED', 'FAILED', 3)
        _action(session, failed, 'ACTION_OK', 'SUCCEEDED', 4)
        p2 = _plan(session, 'PLAN_P2', 'PENDING', 'p2')
        _action(session, p2, 'ACTION_P2', 'PENDING', 5)
        _plan(session, 'PLAN_CANCELLED', 'CANCELLED', 'p1')

        expires = T0 + datetime.timedelta(days=3650)
        for key, state, project, region in (
                ('RES_ACTIVE', 'ACTIVE', 'p1', 'R1'),
                ('RES_RELEASED', 'RELEASED', 'p1', 'R1'),
                ('RES_P2', 'ACTIVE', 'p2', 'R2')):
            session.add(models.Reservation(
                uuid=IDS[key], consumer_uuid='c' + IDS[key][1:],
                region=region, project_id=project,
                resources={'VCPU': 8, 'MEMORY_MB': 16384},
                provider_uuids=[_uuid(100)], expires_at=expires,
                state=state, created_at=T0))

        for key, project, severity in (('ANOMALY_P1', 'p1', 4.5),
                                       ('ANOMALY_P2', 'p2', 2.0),
                                       ('ANOMALY_NONE', None, 9.0)):
            session.add(models.Anomaly(
                uuid=IDS[key], resource_id='host-a', resource_kind='host',
                kind='interval', metric='cpu_util', detector='residual',
                severity=severity, started_at=T0,
                ended_at=T0 + datetime.timedelta(minutes=30),
                root_cause={'report': {'vms': ['vm-1'],
                                       'metrics': ['cpu_util']}},
                project_id=project, created_at=T0))

        run = models.ForecastRun(
            uuid=IDS['RUN'], model_name='ridge', model_version='3',
            parameters={'alpha': 1.0}, data_set='gnocchi:R1', horizon=3600,
            step=300, level=0.9, mae=0.05, interval_coverage=0.91,
            accuracy={'rmse': 0.07}, created_at=T0)
        session.add(run)
        session.flush()
        series = (('vm', 'vm-1', 'cpu_util'), ('host', 'host-a', 'cpu_util'),
                  ('app', 'web', 'cpu_util'), ('region', 'R1', 'cpu_util'),
                  ('region', 'R1', 'memory_util'))
        for n, (kind, rid, metric) in enumerate(series, 1):
            point = [0.5 + 0.01 * i for i in range(12)]
            if n == 1:
                point[3] = math.nan
            session.add(models.Forecast(
                id=n, run_id=run.id, resource_kind=kind, resource_id=rid,
                metric=metric, start=T0, step=300, point=point,
                lower=[p - 0.1 for p in point],
                upper=[p + 0.1 for p in point]))

        session.add(models.MarketTrade(
            uuid=IDS['TRADE_1'], buyer_region='R1', seller_region='R2',
            resource_class='VCPU', quantity=10, price=2.0, plan_id=ongoing.id,
            created_at=T0))
        session.add(models.MarketTrade(
            uuid=IDS['TRADE_2'], buyer_region='R2', seller_region='R1',
            resource_class='MEMORY_MB', quantity=1024, price=0.01,
            created_at=T0 + datetime.timedelta(hours=1)))

        session.add(models.SLA(uuid=IDS['SLA_P1'], name='gold-p1',
                               project_id='p1', tier='gold',
                               confidence_level=0.95, headroom=0.2,
                               penalty=100.0, created_at=T0))
        session.add(models.SLA(uuid=IDS['SLA_P2'], name='silver-p2',
                               project_id='p2', tier='silver',
                               confidence_level=0.9, created_at=T0))
        session.add(models.CostModel(uuid=IDS['COST_MODEL'], name='flat',
                                     plugin='flat', parameters={'vcpu': 1.0},
                                     created_at=T0))
        document = {'format': 1, 'resource_classes': ['VCPU'],
                    'hosts': [['host-a', _uuid(100), [4.0], [16.0], [0.0],
                               [4.0], [2.0], None]]}
        session.add(models.HeadroomSnapshot(
            generation=7, created_at=T0, horizon=3600, host_count=1,
            format=1, data=zlib.compress(json.dumps(document).encode())))
