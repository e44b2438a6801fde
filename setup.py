# Copyright (c) mmase contributors. All rights reserved.
import os
import os.path as osp
import re
import shutil
import sys

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


# ------------------------------------------------------------------ mim
# `mim search mmase`, `mim train mmase CONFIG`, `mim test ...` and
# `mim run mmase TOOL` read `<package>/.mim/{model-index.yml,configs,tools}`.
# Building a wheel or sdist copies them there (they travel with the package);
# an editable install links them to the repository instead.
MIM_ITEMS = ('configs', 'tools', 'model-index.yml')
MIM_PACKAGE_DATA = ['.mim/model-index.yml', '.mim/configs/**/*',
                    '.mim/tools/**/*']


def add_mim_extension() -> None:
    """Put configs, tools and model-index.yml into ``mmase/.mim``.

    Symlinks for ``develop`` / ``editable_wheel`` (the package reads the
    repository), copies for ``sdist`` / ``bdist_wheel`` / ``build`` (the
    files must travel with the package); other commands (``egg_info``...)
    leave ``mmase/.mim`` as it is.
    """
    commands = set(sys.argv[1:])
    if commands & {'develop', 'editable_wheel'}:
        mode = 'symlink'
    elif commands & {'sdist', 'bdist_wheel', 'build', 'build_py',
                     'install'}:
        mode = 'copy'
    else:
        return
    mim_dir = osp.join(HERE, 'mmase', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for item in MIM_ITEMS:
        src = osp.join(HERE, item)
        dst = osp.join(mim_dir, item)
        if not osp.exists(src):
            raise FileNotFoundError(f'setup.py: {src} is missing (needed in '
                                    'mmase/.mim for mim)')
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isdir(src):
            shutil.copytree(
                src, dst,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


add_mim_extension()
# ---------------------------------------------------------------- end mim


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
    package_data={'mmase': ['resources/*', 'resources/**/*'] +
                  MIM_PACKAGE_DATA},
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
