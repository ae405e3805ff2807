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

It also exports ``OMP_NUM_THREADS=1`` (unless the shell sets it already): the tiny models are so
small that a second torch thread only adds contention, which made a by-hand ``tiny_prost`` 2x
slower than the quickstart's on an idle 2-core machine and 10-30x slower on a busy one
(``benchmarks/first_hour``). The variable is read when torch starts, so no preset can set it; it
is exported here because this line is what makes a shell the tiny presets' shell. A shell that
then trains a real model should ``unset OMP_NUM_THREADS`` (or open a new shell).

Nothing a user has is overwritten: a file in the way that this command did not write stops it
before anything is written (one line), unless ``--overwrite``; so does a folder argument that is
empty, a file, under a file, a dangling symbolic link or not writable
(:class:`parlai_prosocial.samples.FolderWrite`).
"""

import os
import shlex
import tempfile

from parlai_prosocial.command_line import OneLineArgumentParser
from parlai_prosocial.data_files import data_dir_env
from parlai_prosocial.samples import TASKS, FolderWrite, add_casual, add_sample, check_destination

#: where the tiny T5 is, for --t5-model-arch
TINY_T5_ENV = 'PARLAI_PROSOCIAL_TINY_T5'

#: torch's CPU threads for the tiny models (see the module docstring)
THREADS_ENV = 'OMP_NUM_THREADS'
TINY_MODEL_THREADS = '1'


def add_task_samples(write, directory):
    """
    Every task's sample under ``directory/<task>``, added to ``write`` (a
    :class:`~parlai_prosocial.samples.FolderWrite`); returns environment variable -> folder.
    """
    return {data_dir_env(task): add_sample(write, task, os.path.join(directory, task))
            for task in TASKS}


def write_task_samples(directory, overwrite=False):
    """
    Every task's sample under ``directory/<task>``; returns environment variable -> folder.
    """
    write = FolderWrite(overwrite)
    environment = add_task_samples(write, check_destination(directory))
    write.write()
    return environment


def write_offline_data(directory, overwrite=False):
    """
    Write all of it (see the module docstring) under ``directory``; returns the environment
    variables to set, name -> value (the data's; the thread count is :func:`exports`').
    """
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5

    directory = check_destination(directory)
    write = FolderWrite(overwrite)
    environment = add_task_samples(write, directory)
    datapath = os.path.join(directory, 'parlai_data')
    add_casual(write, datapath)
    environment['PARLAI_DATAPATH'] = datapath
    tiny_t5 = os.path.join(directory, 'tiny_t5')
    with tempfile.TemporaryDirectory() as built:
        # built aside, then copied like the rest: checked with it before anything is written
        write.copy_tree(build_tiny_t5(built), tiny_t5)
        write.write()
    environment[TINY_T5_ENV] = tiny_t5
    return environment


def exports(environment, current=os.environ):
    """
    The ``export`` lines for ``environment``, and the thread count unless ``current`` (the
    shell's environment) sets one.
    """
    lines = [f'export {name}={shlex.quote(value)}' for name, value in environment.items()]
    if THREADS_ENV not in current:
        lines.append(f'export {THREADS_ENV}={TINY_MODEL_THREADS}  # tiny models: one torch thread')
    return lines


def main(argv=None):
    parser = OneLineArgumentParser(
        prog='python -m parlai_prosocial.offline_data',
        description='Write the offline demo data of the tiny presets and print the export lines '
        'that point ParlAI at it (eval "$(python -m parlai_prosocial.offline_data DIR)").',
    )
    parser.add_argument('directory', metavar='DIR')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace files already in DIR that this command did not write')
    args = parser.parse_args(argv)
    for line in exports(write_offline_data(args.directory, args.overwrite)):
        print(line)


if __name__ == '__main__':
    main()
