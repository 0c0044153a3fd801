from oslo_policy import policy

ADMIN = 'rule:context_is_admin'
PROJECT_MEMBER = 'rule:project_member'
PROJECT_READER = 'rule:project_reader'
SYSTEM_READER = 'rule:system_reader'
PROJECT_READER_OR_SYSTEM_READER = 'rule:project_reader_or_system_reader'

rules = [
    policy.RuleDefault(
        name='context_is_admin',
        check_str='role:admin',
        description='Decides what counts as an administrator: full access '
                    'to every irra resource and action.'),
    policy.RuleDefault(
        name='project_member',
        check_str='role:member and project_id:%(project_id)s',
        description='A member of the project that owns the resource.'),
    policy.RuleDefault(
        name='project_reader',
        check_str='role:reader and project_id:%(project_id)s',
        description='A reader of the project that owns the resource.'),
    policy.RuleDefault(
        name='system_reader',
        check_str='role:reader and system_scope:all',
        description='A system-scoped reader: may see every project\'s '
                    'resources, for operator-wide views.'),
    policy.RuleDefault(
        name='project_reader_or_system_reader',
        check_str='rule:project_reader or rule:system_reader or '
                  'rule:context_is_admin',
        description='Whoever may read a project\'s resources.'),
]


def list_rules():
    return rules
