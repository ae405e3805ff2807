"""
The plugin's agents (``-m prost``, ``canary``, ``canary_guard``, ``cosmo``, ...), and what they
share at their boundary with the user: the model files they are given are checked before ParlAI
reads them (:func:`check_model_file`: one line naming the file and the option, instead of
ParlAI's traceback from deep inside the load), an empty line typed into ``parlai interactive``
asks again (:class:`AsksAgainOnEmptyInput`), and a model our code loads on a user's behalf says
nothing of the options our code sets on it (:func:`overriding_quietly`).

Importing this package imports neither ParlAI nor torch.
"""

import contextlib
import os
import re

from parlai_prosocial.errors import ModelFileError
from parlai_prosocial.model_files import saved_options

#: the reply to an empty line typed into ``parlai interactive``
EMPTY_INPUT_REPLY = '(an empty message: type something to say, or [EXIT] to stop)'


def check_model_file(path, option, agent_class=None, needs_dict=False, dict_file=None):
    """
    One line (a :class:`ModelFileError`) for the model file ``path`` given by ``option``
    (``--model-file``, ``--init-model``, ...) when ParlAI could not load it: missing, its ``.opt``
    cut, its ``.dict`` missing (``needs_dict``: agents with a dictionary built from the data), or
    saved by an agent that is neither ``agent_class`` nor one it derives from or that derives
    from it (a ``transformer/generator`` file given to ``-m canary``). ``dict_file``: the
    ``--dict-file`` given, which serves as the dictionary too.
    """
    if not os.path.isfile(path):
        raise ModelFileError(
            f'{option} {path}: no such model file; give the model file that a training run '
            'wrote (its -mf), with its .opt beside it'
        )
    saved = saved_options(path + '.opt', missing_ok=True) or {}
    if agent_class is not None and saved.get('model'):
        from parlai.core.loader import load_agent_module

        try:
            saved_class = load_agent_module(saved['model'])
        except (ImportError, AttributeError):
            saved_class = None
        if saved_class is None or not (
            issubclass(agent_class, saved_class) or issubclass(saved_class, agent_class)
        ):
            raise ModelFileError(
                f'{option} {path}: a model file of -m {saved["model"]} (its .opt), which '
                f'{agent_class.__name__} cannot load; give a model file of this agent, or '
                f'-m {saved["model"]}'
            )
    if needs_dict:
        candidates = [dict_file, saved.get('dict_file'), path + '.dict']
        if not any(c and os.path.isfile(c) for c in candidates):
            raise ModelFileError(
                f'{option} {path}: its dictionary {path}.dict is missing; copy it with the model '
                'file (a model file comes with its .opt and .dict)'
            )


def check_model_files_of(agent_class, opt, needs_dict=False):
    """
    :func:`check_model_file` for what an agent of ``agent_class`` is about to load: its
    ``--model-file`` (when it exists: else a new model is trained) and ``--init-model``.
    """
    model_file = opt.get('model_file')
    if model_file and os.path.isfile(model_file):
        check_model_file(model_file, '--model-file', agent_class, needs_dict, opt.get('dict_file'))
    elif opt.get('init_model') and not opt['init_model'].startswith('zoo:'):
        check_model_file(opt['init_model'], '--init-model', agent_class, needs_dict,
                         opt.get('dict_file'))


class AsksAgainOnEmptyInput:
    """
    ``parlai interactive``: an empty line typed by the user gets :data:`EMPTY_INPUT_REPLY`, the
    model never sees it. ParlAI's ``TorchAgent`` makes no reply for a message without text and
    then fails on its own missing reply (``KeyError: 'text'``). Put before the agent's base class;
    an agent that defines ``observe`` and ``act`` itself calls :meth:`typed_nothing` and
    :meth:`ask_again` from them.
    """

    _empty_input = False

    def typed_nothing(self, observation):
        """
        Whether ``observation`` is an empty line typed into ``parlai interactive`` (remembered
        for the next ``act``).
        """
        text = observation.get('text') if observation is not None else None
        self._empty_input = bool(
            self.opt.get('interactive_mode')
            and isinstance(text, str)
            and not text.strip()
            and not observation.get('episode_done')
        )
        return self._empty_input

    def ask_again(self):
        from parlai.core.message import Message

        self._empty_input = False
        return Message({'id': self.getID(), 'text': EMPTY_INPUT_REPLY, 'episode_done': False})

    def observe(self, observation):
        if self.typed_nothing(observation):
            return observation
        return super().observe(observation)

    def act(self):
        if self._empty_input:
            return self.ask_again()
        return super().act()


@contextlib.contextmanager
def overriding_quietly(keys=None, but=()):
    """
    For the block: no ``Overriding opt["KEY"] to VALUE (previously: ...)`` warning for ``keys``
    (every key when None), but for those in ``but``. ParlAI warns so for every option an
    ``override`` changes when it loads a model file: right for what a user typed, noise for what
    our code sets itself when it loads a model on a user's behalf (the ToxiChat classifiers are
    loaded to evaluate; the guard samples Canary's RoTs; the report sets the teacher and split),
    which reads as if the user's run had changed. Other warnings pass.
    """
    import logging as std_logging

    from parlai.utils import logging

    overriding = re.compile(r'Overriding opt\["([^"]+)"\] to ')

    class SetByUs(std_logging.Filter):
        def filter(self, record):
            match = overriding.match(record.getMessage())
            if match is None:
                return True
            key = match.group(1)
            return not ((keys is None or key in keys) and key not in but)

    quiet = SetByUs()
    logging.logger.addFilter(quiet)
    try:
        yield
    finally:
        logging.logger.removeFilter(quiet)
