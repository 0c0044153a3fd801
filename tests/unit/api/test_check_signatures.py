"""The remembering ``inspect`` that irra-api gives oslo.policy's checks."""

import inspect

from oslo_policy import _checks

from irra_openstack.api import check_signatures
from tests import base


class _Legacy:
    def __call__(self, target, creds, enforcer):
        return True


class _Current:
    def __call__(self, target, creds, enforcer, current_rule=None):
        return True


class _Callable:
    """Not a function: its signature is asked for each time."""

    def __init__(self):
        self.calls = 0

    @property
    def __signature__(self):
        self.calls += 1
        return inspect.Signature([
            inspect.Parameter('a', inspect.Parameter.POSITIONAL_OR_KEYWORD)])

    def __call__(self, a):
        return a


class TestInspect(base.TestCase):

    def test_same_answer_as_inspect(self):
        fast = check_signatures._Inspect()
        for cls in (_Legacy, _Current, _checks.RoleCheck,
                    _checks.GenericCheck, _checks.OrCheck):
            obj = cls.__new__(cls)
            self.assertEqual(inspect.getfullargspec(obj.__call__),
                             fast.getfullargspec(obj.__call__))

    def test_remembered_per_function(self):
        fast = check_signatures._Inspect()
        first = fast.getfullargspec(_Current().__call__)
        # Another instance's bound method: the same function under it.
        self.assertIs(first, fast.getfullargspec(_Current().__call__))
        self.assertEqual(1, len(fast._specs))

    def test_other_callables_not_remembered(self):
        fast = check_signatures._Inspect()
        obj = _Callable()
        fast.getfullargspec(obj)
        fast.getfullargspec(obj)
        self.assertEqual(2, obj.calls)
        self.assertEqual({}, fast._specs)

    def test_other_attributes_are_inspect_s(self):
        self.assertIs(inspect.signature,
                      check_signatures._Inspect().signature)


class TestInstall(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(setattr, _checks, 'inspect', _checks.inspect)
        _checks.inspect = inspect

    def test_install_is_idempotent(self):
        self.assertTrue(check_signatures.install())
        installed = _checks.inspect
        self.assertIsInstance(installed, check_signatures._Inspect)
        self.assertTrue(check_signatures.install())
        self.assertIs(installed, _checks.inspect)

    def test_checks_still_choose_their_arguments(self):
        check_signatures.install()
        seen = []

        class Legacy(_Legacy):
            def __call__(self, target, creds, enforcer):
                seen.append('legacy')
                return True

        class Current(_Current):
            def __call__(self, target, creds, enforcer, current_rule=None):
                seen.append(current_rule)
                return False

        self.assertTrue(_checks._check(Legacy(), {}, {}, None, 'r1'))
        self.assertFalse(_checks._check(Current(), {}, {}, None, 'r2'))
        self.assertEqual(['legacy', 'r2'], seen)

    def test_leaves_an_unexpected_module_alone(self):
        _checks.inspect = object()
        self.assertFalse(check_signatures.install())
