"""Actions of one plan ending at once, on PostgreSQL and MariaDB.

Each action ends in its own transaction; the plan must end exactly when the
last one does, whatever the interleaving: the plan's row is locked before
an action changes, so two actions ending together cannot each see the
other still ONGOING and leave the plan open. Claims race too: of several
threads claiming one action, one wins.
"""

import threading

from oslo_utils import uuidutils

from irra_openstack.db import constants
from irra_openstack.db import migration
from irra_openstack.db import plan_api
from irra_openstack.optimizer import actions as planned
from tests.functional.db import base as db_base

State = constants.ActionState


class _SettleTest:

    ACTIONS = 12

    def setUp(self):
        super().setUp()
        migration.upgrade()

    def _plan(self):
        plan = uuidutils.generate_uuid()
        records = [planned.PlannedAction(
            'live_migrate', 'vm%d' % i).with_key(plan).as_record()
            for i in range(self.ACTIONS)]
        plan_api.actions_ensure(plan, records)
        return plan, [r['idempotency_key'] for r in records]

    def _together(self, func, args):
        barrier = threading.Barrier(len(args))
        results, errors = {}, []

        def run(arg):
            try:
                barrier.wait(30)
                results[arg] = func(arg)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(a,)) for a in args]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([], errors)
        return results

    def test_last_action_to_end_settles_the_plan(self):
        for failed in (None, 3):
            plan, keys = self._plan()
            for key in keys:
                self.assertIsNotNone(plan_api.action_claim(key))

            def finish(index):
                state = State.FAILED if index == failed else State.SUCCEEDED
                return plan_api.action_finish(keys[index], state)

            results = self._together(finish, range(len(keys)))
            self.assertEqual(len(keys), len(results))
            expected = (constants.PlanState.FAILED if failed is not None
                        else constants.PlanState.SUCCEEDED)
            self.assertEqual(expected, plan_api.plan_get(plan)['state'])
            # Exactly one transaction saw the plan end.
            ends = [r for r in results.values()
                    if r[3]['state'] != r[2]['state']]
            self.assertEqual(1, len(ends))

    def test_one_claim_wins(self):
        _plan, keys = self._plan()
        results = self._together(lambda i: plan_api.action_claim(keys[0]),
                                 range(8))
        winners = [r for r in results.values() if r is not None]
        self.assertEqual(1, len(winners))
        self.assertEqual(1, winners[0][1]['attempts'])


class PostgreSQLSettleTest(_SettleTest, db_base.BackendTestCase):
    BACKEND = 'postgresql'


class MySQLSettleTest(_SettleTest, db_base.BackendTestCase):
    BACKEND = 'mysql'
