# Copyright (c) mmase contributors. All rights reserved.
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    """Read ``__version__`` from ``mmase/version.py`` without importing it."""
    with open(osp.join(HERE, 'mmase', 'version.py'), encoding='utf-8') as f:
        match = re.search(r"^__version__ = '([^']+)'", f.read(), re.M)
    assert match, 'mmase/version.py has no __version__'
    return match.group(1)


def parse_requirements(fname: str) -> list:
    """Return the requirement lines of ``requirements/<fname>``.

    Comments, blank lines and ``-r`` includes are skipped.
    """
    reqs = []
    with open(osp.join(HERE, 'requirements', fname), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


setup(
    name='mmase',
    version=get_version(),
    description='OpenMMLab plugin for industrial defect recognition with '
    'vision-language models (RTVP zero-shot detection, ASE multimodal '
    'classification)',
    long_description=readme(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    include_package_data=True,
    package_data={'mmase': ['resources/*', 'resources/**/*']},
    python_requires='>=3.8',
    install_requires=parse_requirements('mminstall.txt') +
    parse_requirements('runtime.txt'),
    extras_require={
        'optional': parse_requirements('optional.txt'),
        'tests': parse_requirements('tests.txt'),
        'all': parse_requirements('optional.txt') +
        parse_requirements('tests.txt'),
    },
    zip_safe=False,
)
