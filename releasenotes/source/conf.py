# Sphinx configuration of irra-openstack's release notes.

extensions = [
    'openstackdocstheme',
    'reno.sphinxext',
]

openstackdocs_repo_name = 'openstack/irra-openstack'
openstackdocs_use_storyboard = False
openstackdocs_auto_name = False

project = 'irra-openstack Release Notes'
copyright = '2026, irra developers'
master_doc = 'index'
source_suffix = '.rst'
html_theme = 'openstackdocs'
html_static_path = ['_static']
