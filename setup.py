"""Package discovery for the agentgym layout (everything else is in pyproject.toml).

The folders environments/, sandboxes/ and trainers/ sit beside agentgym/ in the
repository but install as agentgym.environments, agentgym.sandboxes and
agentgym.trainers, so nothing generic lands in site-packages. Data folders
(such as environments/swe/data) are namespace packages, so setuptools ships
their files without warning.
"""

from setuptools import find_namespace_packages, setup

ROOTS = {
    "agentgym": "agentgym",
    "agentgym.environments": "environments",
    "agentgym.sandboxes": "sandboxes",
    "agentgym.trainers": "trainers",
}

packages = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_namespace_packages(folder, exclude=["*__pycache__*"])]

setup(packages=packages, package_dir=ROOTS)
