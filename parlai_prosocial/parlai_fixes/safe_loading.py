"""
Loading model files and their options without running code that may be in them (security fixes
of ParlAI bugs: every run, fail-closed: :mod:`parlai_prosocial.model_files` does the loading).
"""


def parlai_unpickling_load(trusted_path):
    """
    A checkpoint loaded as ParlAI 1.7.2's ``TorchAgent.load`` and ``Vacuum.run`` load it (their
    pickle module, so not weights-only): only for a file the user trusts
    (:func:`parlai_prosocial.model_files.load_checkpoint`).
    """
    import parlai.utils.pickle
    import torch
    from parlai.utils.io import PathManager

    with PathManager.open(trusted_path, 'rb') as f:
        return torch.load(f, map_location=lambda cpu, _: cpu, pickle_module=parlai.utils.pickle)


def safe_checkpoint_loading(torch_agent_module):
    """
    ``parlai.core.torch_agent``: model files are loaded with torch's ``weights_only`` loading.

    Replaces ParlAI 1.7.2's ``TorchAgent.load`` (``parlai/core/torch_agent.py``), whose
    ``torch.load(f, ..., pickle_module=parlai.utils.pickle)`` turns safe loading off, so a model
    file with a pickled payload ran it. The states now come from
    :func:`parlai_prosocial.model_files.load_checkpoint` (weights only, plus the numpy float64 that
    ParlAI's own ``invsqrt`` scheduler stores; a file needing more is refused with one line unless
    the user's environment variable trusts it, then loaded by ParlAI's code); what is done with
    them is ParlAI's. A security fix: if its target changed, the program stops (``fail_closed``).
    """
    from parlai_prosocial.model_files import load_checkpoint

    TorchAgent = torch_agent_module.TorchAgent
    parlai_load = TorchAgent.load

    def load(self, path):
        states = load_checkpoint(path, parlai_unpickling_load)
        if 'model' in states:
            self.load_state_dict(states['model'])
        if 'optimizer' in states and hasattr(self, 'optimizer'):
            self.optimizer.load_state_dict(states['optimizer'])
        return states

    load.__doc__ = parlai_load.__doc__
    load.parlai_prosocial_safe = True
    TorchAgent.load = load


def safe_opt_loading(opt_module):
    """
    ``parlai.core.opt``: a ``.opt`` file that is not JSON is unpickled without running code.

    Wraps ParlAI 1.7.2's ``Opt.load`` (``parlai/core/opt.py``), which reads a ``.opt`` that is not
    UTF-8 text with ``pickle.load``: a model file's ``.opt`` (``-mf``, ``--init-model``, a zoo
    folder) holding a pickled payload ran it. Such a file now goes through
    :func:`parlai_prosocial.model_files.load_pickled_opt` (data only; more is refused with one
    line unless the user's environment variable trusts the file); text is left to ParlAI's
    ``Opt.load``. A security fix (``fail_closed``).
    """
    import pickle

    from parlai_prosocial.model_files import load_pickled_opt

    Opt, PathManager = opt_module.Opt, opt_module.PathManager
    parlai_load = Opt.load.__func__

    def unsafe_load(trusted_path):
        with PathManager.open(trusted_path, 'rb') as f:
            return pickle.load(f)

    def load(cls, optfile):
        with PathManager.open(optfile, 'rb') as f:
            data = f.read()
        try:
            data.decode('utf-8')
        except UnicodeDecodeError:  # where ParlAI's Opt.load turns to pickle.load
            dct = load_pickled_opt(optfile, unsafe_load)
            for key in opt_module.__AUTOCLEAN_KEYS__:
                dct.pop(key, None)
            return cls(dct)
        return parlai_load(cls, optfile)

    load.__doc__ = parlai_load.__doc__
    Opt.load = classmethod(load)


def safe_vacuum_loading(vacuum_module):
    """
    ``parlai.scripts.vacuum``: ``parlai vacuum -mf MODEL`` loads the model file as
    ``TorchAgent.load`` now does.

    Replaces ParlAI 1.7.2's ``Vacuum.run`` (``parlai/scripts/vacuum.py``), which loaded the file
    with ``pickle_module=parlai.utils.pickle`` (a payload in it ran), by the same code with the
    states from :func:`parlai_prosocial.model_files.load_checkpoint`. A security fix
    (``fail_closed``).
    """
    from parlai_prosocial.model_files import load_checkpoint

    PathManager, logging = vacuum_module.PathManager, vacuum_module.logging

    def run(self):
        self.opt.log()
        model_file = self.opt['path']
        if not model_file:
            raise RuntimeError('--model-file argument is required')
        if not PathManager.isfile(model_file):
            raise RuntimeError(f"'{model_file}' does not exist")
        logging.info(f"Loading {model_file}")
        states = load_checkpoint(model_file, parlai_unpickling_load)
        if not self.opt['no_backup']:
            logging.info(f"Backing up {model_file} to {model_file}.unvacuumed")
            PathManager.mv(model_file, model_file + ".unvacuumed")
        for key in [
            'optimizer',
            'optimizer_type',
            'lr_scheduler',
            'lr_scheduler_type',
            'warmup_scheduler',
            'number_training_updates',
        ]:
            if key in states:
                logging.info(f"Deleting key {key}")
                del states[key]
        keys = ", ".join(states.keys())
        logging.info(f"Remaining keys: {keys}")
        logging.info(f"Saving to {model_file}")
        vacuum_module.atomic_save(states, model_file)

    run.__doc__ = vacuum_module.Vacuum.run.__doc__
    vacuum_module.Vacuum.run = run
