# Sphinx configuration of irra-openstack's documentation.

extensions = [
    'openstackdocstheme',
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    'oslo_policy.sphinxext',
    'oslo_policy.sphinxpolicygen',
]

# oslo_config.sphinxconfiggen: a downloadable sample configuration file.
config_generator_config_file = '../../etc/irra/irra-config-generator.conf'
sample_config_basename = '_static/irra'

# oslo_policy.sphinxpolicygen: a downloadable sample policy file.
policy_generator_config_file = '../../etc/irra/irra-policy-generator.conf'
sample_policy_basename = '_static/irra'

openstackdocs_repo_name = 'openstack/irra-openstack'
openstackdocs_use_storyboard = False
openstackdocs_auto_name = False

project = 'irra-openstack'
copyright = '2026, irra developers'
master_doc = 'index'
source_suffix = '.rst'
exclude_patterns = []
pygments_style = 'native'
html_theme = 'openstackdocs'
html_static_path = ['_static']
