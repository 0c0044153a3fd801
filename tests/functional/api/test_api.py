"""Loads the gabbi YAML tests of irra-api: one file per resource.

Each file runs against irra-api in process (wsgi-intercept), on its own
freshly migrated and seeded sqlite database (see ``fixtures.py``).
"""

import os

from gabbi import driver

from tests.functional.api import fixtures

TESTS_DIR = 'gabbits'


def load_tests(loader, tests, pattern):
    test_dir = os.path.join(os.path.dirname(__file__), TESTS_DIR)
    return driver.build_tests(test_dir, loader, host=None,
                              test_loader_name=__name__,
                              intercept=fixtures.setup_app,
                              fixture_module=fixtures)
