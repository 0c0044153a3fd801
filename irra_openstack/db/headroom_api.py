"""Writing and reading headroom snapshots in irra's database.

The engine publishes a snapshot with :func:`write_snapshot` at the end of a
planning cycle; nova-scheduler reads it with
:class:`irra_openstack.scheduler.snapshot.SnapshotLoader`, on its own
connection. Both work on the ``headroom_snapshots`` table, one row per
generation.
"""

from oslo_utils import timeutils
import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import models
from irra_openstack.scheduler import snapshot as snapshot_mod

#: Generations kept by default: the newest and a few before it.
DEFAULT_KEEP = 3


def write_snapshot(hosts,
                   resource_classes=snapshot_mod.DEFAULT_RESOURCE_CLASSES,
                   expected_utilisation=None, horizon=None, created_at=None,
                   generation=None, keep=DEFAULT_KEEP, context=None):
    """Store a new snapshot generation and delete the oldest ones.

    :param hosts: per compute node, the dicts described by
        :func:`irra_openstack.scheduler.snapshot.encode`.
    :param resource_classes: resource classes of the snapshot.
    :param expected_utilisation: the cold-start prior, see
        :func:`irra_openstack.scheduler.snapshot.encode`.
    :param horizon: the forecast horizon it covers, in seconds.
    :param created_at: its creation time (naive UTC); now by default.
    :param generation: its generation; one more than the newest by default.
    :param keep: how many generations to keep, this one included.
    :returns: the generation written.
    """
    data, count = snapshot_mod.encode(hosts, resource_classes,
                                      expected_utilisation)
    table = models.HeadroomSnapshot.__table__
    with api.write_session(context) as session:
        if generation is None:
            newest = session.execute(
                sa.select(sa.func.max(table.c.generation))).scalar()
            generation = (newest or 0) + 1
        session.execute(table.insert().values(
            generation=generation,
            created_at=created_at or timeutils.utcnow(),
            horizon=horizon, host_count=count,
            format=snapshot_mod.FORMAT, data=data))
        if keep:
            session.execute(table.delete().where(
                table.c.generation <= generation - keep))
    return generation


def latest_snapshot(context=None):
    """The newest snapshot, decoded, or None if there is none."""
    table = models.HeadroomSnapshot.__table__
    with api.read_session(context) as session:
        row = session.execute(
            sa.select(table).order_by(table.c.generation.desc())
            .limit(1)).first()
    if row is None:
        return None
    return snapshot_mod.decode(row.data, row.generation, row.created_at,
                               row.horizon)
