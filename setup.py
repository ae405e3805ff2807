"""
Build of parlai-prosocial: ``pip install .``, ``pip install -e .`` and ``python -m build``.

The repository follows ParlAI's own layout (``tasks/``, ``zoo/``, ``opt_presets/`` at the top,
like ``parlai/tasks`` ...), but installed those folders live *inside* our package
(``parlai_prosocial.tasks`` ...): top-level ``tasks`` or ``zoo`` packages in site-packages would
collide with other distributions. ``package_dir`` does that mapping, for wheels and editable
installs alike.

Both kinds of install also ship ``parlai_prosocial.pth``, the start-up hook that lets the stock
``parlai`` command find our tasks, agents, zoo entries and presets (docs/design.md).
"""

import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
PTH = 'parlai_prosocial.pth'

#: top-level folder of the repository -> the package it is installed as
MAPPED_FOLDERS = {
    'tasks': 'parlai_prosocial.tasks',
    'zoo': 'parlai_prosocial.zoo',
    'opt_presets': 'parlai_prosocial.opt_presets',
}


def _packages():
    packages = find_packages(HERE, include=['parlai_prosocial', 'parlai_prosocial.*'])
    package_dir = {'parlai_prosocial': 'parlai_prosocial'}
    for folder, package in MAPPED_FOLDERS.items():
        package_dir[package] = folder
        packages.append(package)
        for sub in find_packages(os.path.join(HERE, folder)):
            packages.append(f'{package}.{sub}')
            package_dir[f'{package}.{sub}'] = os.path.join(folder, *sub.split('.'))
    return packages, package_dir


class BuildPyWithPth(build_py):
    """
    Wheels: put the start-up hook at the root of the wheel, i.e. into site-packages.
    """

    def run(self):
        super().run()
        self.copy_file(os.path.join(HERE, PTH), os.path.join(self.build_lib, PTH))


class EditableWheelWithPth(editable_wheel):
    """
    Editable installs (PEP 660): setuptools builds their wheel from its own files, not from
    ``build_py``'s output, so the hook is added where it adds its own ``.pth`` files.
    """

    def _install_namespaces(self, installation_dir, pth_prefix):
        super()._install_namespaces(installation_dir, pth_prefix)
        self.copy_file(os.path.join(HERE, PTH), os.path.join(installation_dir, PTH))


packages, package_dir = _packages()

setup(
    name='parlai-prosocial',
    version='0.1.0',
    description='ProsocialDialog and SODA teachers, Prost and Canary agents for ParlAI',
    long_description=open(os.path.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='MIT',
    python_requires='>=3.11,<3.12',
    packages=packages,
    package_dir=package_dir,
    package_data={
        'parlai_prosocial.opt_presets': ['prosocial/*.opt'],
        # ParlAI's regression tests (AutoTeacherTest) read their expected data beside test.py
        'parlai_prosocial.tasks': ['*/test/*.yml', '*/README.md'],
        'parlai_prosocial.zoo': ['*/model_card.md'],
        # the offline samples: data files in each dataset's upstream format
        'parlai_prosocial.samples': [
            '*/*.json', '*/*.jsonl', '*/*.parquet', '*/*.csv', '*/*.tsv',
            'casual/*/*.*', 'casual/*/*/*.*',
        ],
    },
    include_package_data=False,
    # What the code needs; the exact tested set is requirements/lock.txt.
    install_requires=[
        'parlai==1.7.2',
        'torch==2.13.0',  # the tested build; an open range lets pip pull a multi-GB CUDA build
        'setuptools<81',  # ParlAI 1.7.2 imports pkg_resources, which setuptools 81 drops
        'numpy>=1.23,<2',
        'pyarrow>=12,<21',
        'transformers>=4.30,<4.52',
        # the viewer for --tensorboard-log; ParlAI writes through tensorboardX 2.5, whose
        # generated protobuf code needs protobuf 3 (tensorboard 2.21 needs protobuf 6)
        'tensorboard>=2.14,<2.21',
        'tensorboardX>=2.5,<2.6',
        'protobuf>=3.19.6,<4',
        # the JSON Lines reader decodes and type-checks every row in C against the row's schema
        # (parlai_prosocial/data_files.py: json_lines, checked_fields)
        'msgspec>=0.18,<1',
    ],
    extras_require={
        'test': ['pytest>=8', 'pytest-regressions', 'pytest-xdist'],
        # the charts of the prosocial report (parlai_prosocial/report, docs/report.md)
        'report': ['matplotlib>=3.8,<3.11'],
    },
    cmdclass={'build_py': BuildPyWithPth, 'editable_wheel': EditableWheelWithPth},
    zip_safe=False,
)
