import os

import pytest

from parlai_prosocial import testing
from parlai_prosocial.samples import write_sample


@pytest.fixture(scope='session')
def sample_data_dir(tmp_path_factory):
    """
    The bundled sample written in the HF JSON Lines layout.
    """
    return write_sample('prosocial', tmp_path_factory.mktemp('prosocial_hf'))


@pytest.fixture
def run_parlai():
    """
    :func:`parlai_prosocial.testing.run_parlai`: the stock ``parlai`` command in a new process.
    """
    return testing.run_parlai


@pytest.fixture
def parlai_warnings():
    """
    The warnings ParlAI's logger emits during the test.
    """
    with testing.parlai_warnings_logged() as records:
        yield records


# --- tiny models several test files use: built once per session, whatever the xdist workers ----


@pytest.fixture(scope='session')
def tiny_t5(tmp_path_factory):
    """
    The tiny random T5 of the bundled samples' texts (``build_tiny_t5`` defaults): its directory.
    """
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5

    return testing.built_once(tmp_path_factory, 'tiny_t5', build_tiny_t5)


@pytest.fixture(scope='session')
def untrained_canary(tmp_path_factory, tiny_t5):
    """
    A Canary on the tiny T5 saved untrained (``testing.models.save_untrained``), its replies cut
    at 12 tokens (``--label-truncate``): its model file. Its outputs are near-uniform and
    reproduce nothing: for the tests of what is done with a Canary's files and options, and of
    sampling.
    """
    from parlai_prosocial.testing.models import save_untrained

    return testing.built_once(
        tmp_path_factory, 'untrained_canary',
        lambda directory: save_untrained(directory, model='canary', t5_model_arch=tiny_t5,
                                         label_truncate=12),
    )


@pytest.fixture(scope='session')
def tiny_canary(tmp_path_factory, tiny_t5, sample_data_dir):
    """
    ``-o prosocial/tiny_canary`` on ``prosocial:safety`` alone for 150 epochs (the preset's 100
    already overfit; a margin for data order): its model file. Checked once, when it is built, to
    reproduce every training target of the sample, its label with a probability of at least 0.95
    (``testing.canary.check_fits_training``): the precondition of the tests that assert its labels,
    which they assert on those training contexts only. (The guard's plumbing is tested with
    ``scripted_canary``.)
    """
    from parlai_prosocial.testing.canary import check_fits_training

    def build(directory):
        model_file = os.path.join(directory, 'model')
        testing.parlai_in_process(
            ['train_model', '-o', 'prosocial/tiny_canary', '-t', 'prosocial:safety',
             '--multitask-weights', '1', '--t5-model-arch', tiny_t5, '-mf', model_file,
             '--num-epochs', '150'],
            cwd=directory,
            env_extra={'PROSOCIAL_DATA_DIR': sample_data_dir},
        )
        check_fits_training(model_file, sample_data_dir, 'the session\'s tiny Canary')
        return model_file

    return testing.built_once(tmp_path_factory, 'tiny_canary', build)


@pytest.fixture(scope='session')
def scripted_canary_file(tmp_path_factory, sample_data_dir):
    """
    The model file of a Canary whose decisions are certain by construction
    (``testing.canary.ScriptedCanary.as_trained``): every turn of the bundled ProsocialDialog
    sample gets its ``prosocial:safety`` target (the annotators' label and RoTs), by the turn
    alone, whatever came before it; any other turn ``__casual__``.
    """
    from parlai_prosocial.testing.canary import ScriptedCanary

    directory = tmp_path_factory.mktemp('scripted_canary')
    return ScriptedCanary.as_trained(sample_data_dir).save(str(directory / 'model'))


@pytest.fixture
def scripted_canary(scripted_canary_file, monkeypatch):
    """
    ``--canary-model-file`` of the scripted Canary (``scripted_canary_file``), which every
    ``-m canary_guard`` built in this process during the test loads: for the tests of the guard's
    plumbing (what it passes, steers, shows), which then hold on any machine.
    """
    from parlai_prosocial.testing.canary import load_scripted_canaries

    load_scripted_canaries(monkeypatch)
    return scripted_canary_file


def _trained_generator(tmp_path_factory, sample_data_dir, name, args):
    """
    The model file of ``train_model ARGS`` (a ``prosocial/tiny_generator`` command) for 30 epochs
    on the ProsocialDialog sample, trained once per run as ``name``.
    """
    def build(directory):
        testing.parlai_in_process(
            ['train_model', *args, '-mf', os.path.join(directory, 'model'), '--num-epochs', '30'],
            cwd=directory, env_extra={'PROSOCIAL_DATA_DIR': sample_data_dir},
        )
        return os.path.join(directory, 'model')

    return testing.built_once(tmp_path_factory, name, build)


@pytest.fixture(scope='session')
def tiny_generator(tmp_path_factory, sample_data_dir):
    """
    A tiny ``transformer/generator`` trained on the ProsocialDialog sample (what the guard and the
    report put Canary in front of).
    """
    return _trained_generator(tmp_path_factory, sample_data_dir, 'guard_generator',
                              ['-o', 'prosocial/tiny_generator', '-t', 'prosocial'])


@pytest.fixture(scope='session')
def rot_response_generator(tmp_path_factory, sample_data_dir):
    """
    The README's first training command, ``-t prosocial:rot_response -m transformer/generator -o
    prosocial/tiny_generator``, for 30 epochs: a tiny generator of RoTs, ``__endrots__``, the
    reply (what the report scores on its own format, and the export turns into a folder).
    """
    return _trained_generator(
        tmp_path_factory, sample_data_dir, 'rot_response_generator',
        ['-t', 'prosocial:rot_response', '-m', 'transformer/generator', '-o',
         'prosocial/tiny_generator'])


@pytest.fixture(scope='session')
def toxichat_sample_dir(tmp_path_factory):
    return write_sample('toxichat', tmp_path_factory.mktemp('toxichat_sample'))


@pytest.fixture(scope='session')
def toxichat_classifiers(tmp_path_factory, toxichat_sample_dir):
    """
    Tiny stance and offensive ``transformer/classifier`` s trained with ParlAI on the ToxiChat
    sample's train split: ``{'stance': model file, 'offensive': model file}``.
    """
    return testing.built_once(
        tmp_path_factory, 'toxichat_classifiers',
        lambda directory: testing.train_toxichat_classifiers(directory, toxichat_sample_dir),
    )
