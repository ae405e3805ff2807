"""
Everything the ``tiny_*`` presets and the quickstart need to run with no network, in one command:

    eval "$(python -m parlai_prosocial.offline_data /tmp/offline)"
    parlai train_model -o prosocial/tiny_prost -mf /tmp/prost/model
    parlai train_model -o prosocial/tiny_canary -mf /tmp/canary/model --t5-model-arch "$PARLAI_PROSOCIAL_TINY_T5"

It writes into the directory

* every task's small hand-written sample, in that dataset's exact upstream format (the files of
  :mod:`parlai_prosocial.samples`), one folder per task, found through the environment variable
  that is the default of the task's ``--<task>-data-dir`` option;
* tiny stand-ins of ParlAI's casual datasets (DailyDialog, ConvAI2, Wizard of Wikipedia,
  EmpatheticDialogues, BlendedSkillTalk) under a ParlAI datapath, marked built, found through
  ``PARLAI_DATAPATH``;
* a tiny random T5 with its tokenizer (:mod:`parlai_prosocial.agents.canary.tiny`), for
  ``--t5-model-arch``;

and prints the ``export`` lines that point ParlAI at them. These are demo and test data, not the
datasets: numbers from them show that the code runs, nothing about the papers' models.
"""

import argparse
import os
import shlex

from parlai_prosocial.data_files import data_dir_env
from parlai_prosocial.samples import TASKS, write_casual, write_sample

#: where the tiny T5 is, for --t5-model-arch
TINY_T5_ENV = 'PARLAI_PROSOCIAL_TINY_T5'


def write_task_samples(directory):
    """
    Every task's sample under ``directory/<task>``; returns environment variable -> folder.
    """
    return {data_dir_env(task): write_sample(task, os.path.join(directory, task)) for task in TASKS}


def write_offline_data(directory):
    """
    Write all of it (see the module docstring) under ``directory``; returns the environment
    variables to set, name -> value.
    """
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5

    directory = os.path.abspath(directory)
    environment = write_task_samples(directory)
    datapath = os.path.join(directory, 'parlai_data')
    write_casual(datapath)
    environment['PARLAI_DATAPATH'] = datapath
    environment[TINY_T5_ENV] = str(build_tiny_t5(os.path.join(directory, 'tiny_t5')))
    return environment


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Write the offline demo data of the tiny presets and print the export lines '
        'that point ParlAI at it (eval "$(python -m parlai_prosocial.offline_data DIR)").'
    )
    parser.add_argument('directory')
    args = parser.parse_args(argv)
    for name, value in write_offline_data(args.directory).items():
        print(f'export {name}={shlex.quote(value)}')


if __name__ == '__main__':
    main()
