"""
Fixes applied to ParlAI 1.7.2 modules right after they are imported (see ``plugin_hook``).

ParlAI's repository is archived, so these cannot go upstream. Each fix takes the freshly imported
module and changes it in place; each has a test in ``tests/test_parlai_fixes.py`` (the distributed
training ones in ``tests/test_distributed_cpu.py``).
"""

import os


def our_opt_presets_dir():
    """
    Where our presets are: the repository's top-level ``opt_presets/``, installed as
    ``parlai_prosocial.opt_presets`` (``setup.py``); located, not imported (presets are data).
    """
    import importlib.util

    return list(importlib.util.find_spec('parlai_prosocial.opt_presets').submodule_search_locations)[0]


def find_our_opt_presets(opt_module):
    """
    Let ``-o prosocial/NAME`` find ``opt_presets/prosocial/NAME.opt`` (``parlai_prosocial.opt_presets``).

    ParlAI only looks for bundled presets inside the ``parlai`` package. Ours are looked up after
    all of ParlAI's places, so a user's or ParlAI's own preset of the same name still wins.
    """
    Opt = opt_module.Opt
    parlai_load_init = Opt.load_init.__func__

    def load_init(cls, optfile):
        try:
            return parlai_load_init(cls, optfile)
        except FileNotFoundError:
            ours = os.path.join(our_opt_presets_dir(), optfile + '.opt')
            if ',' in optfile or not os.path.isfile(ours):
                if optfile.startswith(OUR_PRESETS + '/'):
                    raise _unknown_preset(optfile) from None
                raise
            return cls.load(ours)

    Opt.load_init = classmethod(load_init)


#: the folder of ``opt_presets/`` that holds our presets: ``-o prosocial/NAME``
OUR_PRESETS = 'prosocial'


def our_preset_names():
    folder = os.path.join(our_opt_presets_dir(), OUR_PRESETS)
    return sorted(f'{OUR_PRESETS}/{name[:-4]}' for name in os.listdir(folder)
                  if name.endswith('.opt'))


def _unknown_preset(optfile):
    from parlai_prosocial.errors import UnknownPresetError

    return UnknownPresetError(
        f'-o {optfile}: no such preset (nor file); expected one of '
        f'{", ".join(our_preset_names())}'
    )


# --- One line where a path starts from our names (issue 18) ------------------------------------
#
# Where ParlAI's own code fails on a path that one of our names leads to (a task, agent or preset
# of ours, a model file of ours), the fixes below turn that failure into one line naming the file
# or option and what to do. With no name of ours, ParlAI's error is left as it is.


def _ours(model=None, task=None, init_opt=None):
    """
    Whether a model, ``--task`` string or ``-o`` preset is one of ours.
    """
    from parlai_prosocial.plugin_hook import aliased

    tasks, agents = set(aliased('tasks')), set(aliased('agents'))
    if isinstance(model, str) and (model in agents or model.startswith('parlai_prosocial')):
        return True
    for part in (task or '').split(','):
        name = part.strip().split(':')[0]
        if name in tasks or name.startswith('parlai_prosocial'):
            return True
    return str(init_opt or '').startswith(OUR_PRESETS + '/')


def involves_our_names(opt):
    """
    Whether the options of a run name an agent, task or preset of ours, or one of our zoo models.
    """
    if _ours(opt.get('model'), opt.get('task'), opt.get('init_opt')):
        return True
    return any(str(opt.get(key) or '').startswith(('zoo:prost', 'zoo:canary'))
               for key in ('model_file', 'init_model'))


def unknown_teachers_of_our_tasks(loader_module):
    """
    ``parlai.core.loader``: ``-t prosocial:NAME`` (any task of ours) with no such teacher is one
    line listing the task's teachers. Wraps ParlAI 1.7.2's ``load_teacher_module``, whose
    ``getattr(task_module, teacher)`` raised a bare ``AttributeError`` (a traceback). Other
    tasks' errors are ParlAI's.
    """
    parlai_load_teacher_module = loader_module.load_teacher_module

    def load_teacher_module(taskname):
        try:
            return parlai_load_teacher_module(taskname)
        except AttributeError:
            task_module = loader_module.load_task_module(taskname)
            if not task_module.__name__.startswith('parlai_prosocial.'):
                raise
            raise _unknown_teacher(taskname, task_module) from None

    load_teacher_module.__doc__ = parlai_load_teacher_module.__doc__
    loader_module.load_teacher_module = load_teacher_module


def _unknown_teacher(taskname, task_module):
    import inspect
    import re

    from parlai_prosocial.errors import ProsocialOptionError

    task = taskname.split(':')[0]
    teachers = []
    for name, value in vars(task_module).items():
        if (inspect.isclass(value) and name.endswith('Teacher') and not name.startswith('_')
                and value.__module__ == task_module.__name__):
            words = re.sub(r'(?<!^)(?=[A-Z])', '_', name[: -len('Teacher')]).lower()
            teachers.append(task if name == 'DefaultTeacher' else f'{task}:{words}')
    return ProsocialOptionError(
        f'-t {taskname}: task {task} has no such teacher; expected one of '
        f'{", ".join(sorted(teachers))}'
    )


def cut_option_files_of_ours(opt_module):
    """
    ``parlai.core.opt``: a cut (not valid JSON) ``.opt`` file of one of our models or presets is
    one line naming it. Wraps ParlAI 1.7.2's ``Opt.load``, which raised the ``JSONDecodeError``
    (a traceback) when, e.g., ``-mf MODEL`` has a ``MODEL.opt`` cut short. A file is ours when
    what can be read of it names a model, task or preset of ours; others' errors are ParlAI's.
    """
    import json
    import re

    Opt = opt_module.Opt
    parlai_load = Opt.load.__func__

    def load(cls, optfile):
        try:
            return parlai_load(cls, optfile)
        except json.JSONDecodeError:
            with open(optfile, encoding='utf-8', errors='replace') as f:
                text = f.read()

            def value(key):
                found = re.search(rf'"{key}"\s*:\s*"([^"]*)', text)
                return found.group(1) if found else None

            if not _ours(value('model'), value('task'), value('init_opt')):
                raise
            from parlai_prosocial.agents import saved_options

            saved_options(optfile)  # its one line
            raise

    load.__doc__ = parlai_load.__doc__
    Opt.load = classmethod(load)


def missing_model_files_of_ours(agents_module):
    """
    ``parlai.core.agents``: ``-mf MODEL`` that does not exist, in a command that must load it
    (``eval_model``, ``interactive``, ...) and names an agent, task or preset of ours, is one line.
    Wraps ParlAI 1.7.2's ``create_agent``, whose ``RuntimeError`` ("WARNING: Model file does not
    exist") came as a traceback; so did a model's cut ``.opt`` that names nothing of ours in what
    is left of it. Without our names ParlAI's error stays.
    """
    import json

    parlai_create_agent = agents_module.create_agent

    def create_agent(opt, requireModelExists=False):
        try:
            return parlai_create_agent(opt, requireModelExists)
        except json.JSONDecodeError:
            # a model file's .opt cut before it names anything of ours (cut_option_files_of_ours)
            if not involves_our_names(opt):
                raise
            from parlai_prosocial.agents import saved_options

            for key in ('model_file', 'init_model'):
                if opt.get(key) and not str(opt[key]).startswith('zoo:'):
                    saved_options(opt[key] + '.opt')  # one line if it is the cut one
            raise
        except (RuntimeError, OSError) as e:
            missing_base = base_model_not_downloaded(opt, e) or hub_model_not_loaded(opt, e)
            if missing_base is not None:
                raise missing_base from None
            if not (str(e).startswith('WARNING: Model file does not exist')
                    and involves_our_names(opt)):
                raise
            from parlai_prosocial.errors import ModelFileError

            raise ModelFileError(
                f'--model-file {opt["model_file"]}: no such model file; give the model file a '
                'training run wrote (its -mf), or install one as zoo:prost/model or '
                'zoo:canary/model (python -m parlai_prosocial.zoo.prost.install / '
                'zoo.canary.install)'
            ) from None

    create_agent.__doc__ = parlai_create_agent.__doc__
    agents_module.create_agent = create_agent


def base_model_not_downloaded(opt, error):
    """
    The one line (a ``ProsocialDownloadError``) for ``error``, a ``RuntimeError`` or ``OSError``
    raised while a run that names a preset, agent or task of ours starts, when a ParlAI zoo model
    its options name (``--init-model``, ``--dict-file``: ``-o prosocial/prost`` starts from
    ``zoo:blender/reddit_3B``) is not downloaded: ParlAI's download failed (offline, most
    likely). None otherwise.
    """
    from parlai_prosocial.errors import ProsocialError

    if isinstance(error, ProsocialError) or not involves_our_names(opt):
        return None  # (ours are one line already)
    if not _raised_in_parlai_download(error):
        return None
    datapath = opt.get('datapath') or ''
    for key in ('init_model', 'dict_file', 'model_file'):
        value = str(opt.get(key) or '')
        if not value.startswith('zoo:') or value.startswith(('zoo:prost', 'zoo:canary')):
            continue  # (our own zoo entries say what is missing themselves)
        folder = os.path.join(datapath, 'models', os.path.dirname(value[len('zoo:'):]))
        if os.path.isfile(os.path.join(folder, '.built')):
            continue
        from parlai_prosocial.errors import ProsocialDownloadError

        reason = ' '.join(str(error).split())[:200]
        return ProsocialDownloadError(
            f'--{key.replace("_", "-")} {value}: this base model is not downloaded, and '
            f'downloading it failed ({type(error).__name__}: {reason}); run once with the '
            f'network (ParlAI puts it in {folder}), or give --init-model and --dict-file a '
            'local copy of the model file and its dictionary'
        )
    return None


def _raised_in(error, *places):
    import traceback

    return any(
        any(place in frame.filename for place in places)
        for frame in traceback.extract_tb(error.__traceback__)
    )


def _raised_in_parlai_download(error):
    return _raised_in(
        error, os.path.join('parlai', 'core', 'build_data.py'), os.path.join('parlai', 'zoo', '')
    )


def hub_model_not_loaded(opt, error):
    """
    The one line (a ``ModelFileError``) for ``error``, an ``OSError`` that Hugging Face raised
    while a run naming a preset, agent or task of ours loads a GPT-2 family model from the hub
    (``-o prosocial/table2_gpt2``, ``table2_dialogpt_rots``): offline and not in HF's cache, or
    no such model. None otherwise. (T5 agents of ours say it themselves: ``t5_loaded``.)
    """
    from parlai_prosocial.errors import ModelFileError, ProsocialError

    if (isinstance(error, ProsocialError) or not isinstance(error, OSError)
            or 'model_name' not in opt or not involves_our_names(opt)
            or not _raised_in(error, os.path.join('transformers', ''))):
        return None
    given = opt.get('model_name') or f'unset: the hub model of --gpt2-size {opt.get("gpt2_size")}'
    reason = ' '.join(str(error).split())[:200]
    return ModelFileError(
        f'-m {opt.get("model")} (--model-name {given}): cannot load it from Hugging Face '
        f'({reason}); without the network, save the model and its tokenizer once where there is '
        'one (save_pretrained) and give that directory to --model-name'
    )


def base_models_of_our_presets(train_model_module):
    """
    ``parlai.scripts.train_model``: ``train_model -o prosocial/prost`` (any run naming a preset,
    agent or task of ours) whose ParlAI zoo base model is not downloaded and cannot be is one
    line (:func:`base_model_not_downloaded`), as is a GPT-2 that Hugging Face cannot load
    (:func:`hub_model_not_loaded`). Wraps ParlAI 1.7.2's ``TrainLoop.__init__``, where the
    dictionary and the agent, hence the downloads, are built; their errors (``RuntimeError:
    Connection broken too many times``, HF's ``OSError``) came as tracebacks. Any other error is
    unchanged.
    """
    parlai_init = train_model_module.TrainLoop.__init__

    def __init__(self, opt):
        try:
            parlai_init(self, opt)
        except (RuntimeError, OSError) as e:
            missing_base = base_model_not_downloaded(opt, e) or hub_model_not_loaded(opt, e)
            if missing_base is None:
                raise
            raise missing_base from None

    __init__.__doc__ = parlai_init.__doc__
    train_model_module.TrainLoop.__init__ = __init__


def reduce_on_plateau_without_verbose(lr_scheduler_module):
    """
    ParlAI's default ``--lr-scheduler reduceonplateau`` passes ``verbose=True`` to torch's
    ``ReduceLROnPlateau``, which torch 2.x no longer accepts: every training run crashed.
    """
    scheduler_class = lr_scheduler_module.ReduceOnPlateauLRScheduler
    optim = lr_scheduler_module.optim

    def __init__(self, optimizer, patience, decay, warmup_updates, warmup_rate):
        lr_scheduler_module.ParlAILRScheduler.__init__(self, warmup_updates, warmup_rate)
        self.scheduler = optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, 'min', factor=decay, patience=patience
        )

    scheduler_class.__init__ = __init__


# --- Distributed training without GPUs ---------------------------------------------------------
#
# ParlAI's ``multiprocessing_train`` and (SLURM) ``distributed_train`` assume one GPU per worker:
# NCCL backend, ``rank % torch.cuda.device_count()`` as device, ``.cuda()`` buffers. The fixes
# below add a CPU path (gloo backend, CPU tensors) that is taken only when CUDA is unavailable or
# ``--no-cuda`` is set; with GPUs every call goes to ParlAI's unchanged code.


def _cpu_only(opt=None):
    """
    Whether a distributed run must go without GPUs: none usable, or ``--no-cuda``.
    """
    import torch

    return not torch.cuda.is_available() or bool(opt and opt.get('no_cuda'))


def _on_gloo(group=None):
    """
    Whether we are inside a process group that our CPU path created (gloo keeps CPU tensors).
    """
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_backend(group) == 'gloo'


def distributed_on_cpu(distributed_module):
    """
    ``parlai.utils.distributed``: run the process group on CPU with gloo when there are no GPUs.

    * ``distributed_context`` computes ``gpu = rank % torch.cuda.device_count()``
      (ZeroDivisionError without GPUs), hard-codes the ``nccl`` backend and calls
      ``torch.cuda.init()``. On CPU we use device -1 (ParlAI's "no GPU"), gloo, and no CUDA calls.
    * ParlAI's agents wrap the model in ``DistributedDataParallel(device_ids=[opt['gpu']])``,
      which torch refuses for a CPU module; inside the CPU context ``device_ids=[-1]`` is dropped.
    * All workers meet at a barrier before ``destroy_process_group``, so none tears the group
      down while another still talks to it: 2-worker CPU runs without it were seen to abort or
      hang at the end. (Skipped after an exception: a failed worker must not wait for the
      others; they then get gloo's "Connection closed by peer" and stop too.) Rank 0's process
      also exits last (:func:`rank_zero_exits_last`).
    * ``all_gather_list`` puts its buffers on the GPU with ``.cuda()``; on a gloo group it now
      gathers with ``all_gather_object`` on CPU. ``sync_object`` and ``sync_parameters`` only
      use ``all_gather_list`` and ``all_reduce`` of the (CPU) parameters, so they follow.
    """
    import contextlib
    import copy

    import torch
    import torch.distributed as dist

    logging = distributed_module.logging
    parlai_distributed_context = distributed_module.distributed_context
    parlai_all_gather_list = distributed_module.all_gather_list
    parlai_ddp = torch.nn.parallel.DistributedDataParallel

    class CpuDistributedDataParallel(parlai_ddp):
        def __init__(self, module, device_ids=None, *args, **kwargs):
            if device_ids == [-1]:
                device_ids = None  # what torch wants for a CPU module
            super().__init__(module, device_ids, *args, **kwargs)

    @contextlib.contextmanager
    def ddp_accepting_cpu_device():
        torch.nn.parallel.DistributedDataParallel = CpuDistributedDataParallel
        try:
            yield
        finally:
            torch.nn.parallel.DistributedDataParallel = parlai_ddp

    @contextlib.contextmanager
    def distributed_context(
        rank, opt, rank_offset=0, gpu=None, init_method="tcp://localhost:61337"
    ):
        if not _cpu_only(opt):
            with parlai_distributed_context(
                rank, opt, rank_offset, gpu, init_method=init_method
            ) as opt:
                yield opt
            return
        # ParlAI's distributed_context with the GPU parts removed
        opt = copy.deepcopy(opt)
        rank = rank + rank_offset
        opt['rank'] = rank
        opt['gpu'] = -1  # also when SLURM passes its local id: there is no GPU to pick
        if 'override' not in opt:
            opt['override'] = {}
        opt['override']['gpu'] = -1
        if opt.get('verbose') or rank != 0:
            print_prefix = 'rank:{:3d} |'.format(rank)
        else:
            print_prefix = None
        suppress_output = not opt.get('verbose') and rank != 0
        with distributed_module.override_print(suppress_output, print_prefix):
            dist.init_process_group(
                backend='gloo',
                init_method=init_method,
                world_size=opt['distributed_world_size'],
                rank=rank,
            )
            logging.info('Distributed group initialized (gloo, CPU)')
            torch.manual_seed(42)
            distributed_module.sync_object(None)
            finished = False
            try:
                with ddp_accepting_cpu_device():
                    yield opt
                finished = True
            finally:
                if finished:
                    dist.barrier()
                    rank_zero_exits_last(rank, opt['distributed_world_size'])
                dist.destroy_process_group()

    def rank_zero_exits_last(rank, world_size, patience=60.0):
        """
        Rank 0 hosts the TCP store and every worker's peer socket. A SLURM worker (its own
        process, not a child that rank 0 joins) that freed its DDP model after rank 0 had exited
        was seen to hang there, in gloo's native teardown (about 1 run in 20): so each other
        worker counts itself out in the store as its process exits, and rank 0's process waits
        for all of them (at most ``patience`` seconds) before it exits.
        """
        import multiprocessing.util
        import time

        if world_size < 2:
            return
        store = dist.distributed_c10d._get_default_store()
        key = 'parlai_prosocial_exited'

        def wait_for_the_others():
            deadline = time.monotonic() + patience
            while store.add(key, 0) < world_size - 1 and time.monotonic() < deadline:
                time.sleep(0.05)

        # multiprocessing's exit functions run at the end of a plain process (atexit) and of a
        # spawned worker (which skips atexit), after the script's objects are freed
        if rank == 0:
            multiprocessing.util.Finalize(None, wait_for_the_others, exitpriority=0)
        else:
            multiprocessing.util.Finalize(None, store.add, (key, 1), exitpriority=0)

    def all_gather_list(data):
        if not _on_gloo():
            return parlai_all_gather_list(data)
        gathered = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, data)
        return gathered

    distributed_context.__doc__ = parlai_distributed_context.__doc__
    all_gather_list.__doc__ = parlai_all_gather_list.__doc__
    distributed_module.distributed_context = distributed_context
    distributed_module.all_gather_list = all_gather_list
    distributed_module.CpuDistributedDataParallel = CpuDistributedDataParallel


def join_on_cpu(fsdp_module):
    """
    ``parlai.utils.fsdp``: the train loop's and evaluator's ``join_device`` is ``opt['gpu']``,
    which is -1 on CPU; torch's ``Join`` then makes ``torch.zeros(1, device=-1)`` at the end of
    training ("Device index must not be negative"). On a gloo group the device is the CPU.
    """
    import torch

    for cls in (fsdp_module.JoinableTrainLoop, fsdp_module.JoinableEvaluator):
        parlai_join_device = cls.join_device.fget

        def join_device(self, parlai_join_device=parlai_join_device):
            device = parlai_join_device(self)
            if device == -1 and _on_gloo(self.join_process_group):
                return torch.device('cpu')
            return device

        cls.join_device = property(join_device, doc=cls.join_device.__doc__)


def build_dict_for_workers(opt):
    """
    Build the dictionary a ``TrainLoop`` with ``opt`` would build (``--dict-file``, else
    ``MODEL_FILE.dict``), unless it exists or the model has none; ``opt`` is left unchanged.
    """
    import copy

    from parlai.scripts.build_dict import build_dict

    if 'dict_file' not in opt or not (opt.get('dict_file') or opt.get('model_file')):
        return
    dict_opt = copy.deepcopy(opt)
    if not dict_opt.get('dict_file'):
        dict_opt['dict_file'] = opt['model_file'] + '.dict'
    build_dict(dict_opt, skip_if_built=True)


def build_dict_before_spawning(mp_train_module):
    """
    ``parlai.scripts.multiprocessing_train`` without GPUs: build the dictionary in the parent.

    Every worker's ``TrainLoop`` builds the dictionary if its file is missing, and ParlAI refuses
    that once distributed ("Dictionaries should be pre-built before distributed train"). On CPU
    we build it once, before the workers start, so the user needs no ``parlai build_dict`` step.
    Also, the default ``--distributed-world-size`` is the number of GPUs, 0 here: ask for one.
    """
    parlai_launch_and_train = mp_train_module.launch_and_train

    def launch_and_train(opt, port=None):
        if _cpu_only(opt):
            if (opt.get('distributed_world_size') or 0) < 1:
                from parlai_prosocial.errors import ProsocialOptionError

                raise ProsocialOptionError(
                    'multiprocessing_train without GPUs: give the number of CPU workers with '
                    '--distributed-world-size N'
                )
            build_dict_for_workers(opt)
        return parlai_launch_and_train(opt, port)

    launch_and_train.__doc__ = parlai_launch_and_train.__doc__
    mp_train_module.launch_and_train = launch_and_train


# --- Reproducible training ---------------------------------------------------------------------


#: the seed ParlAI's ``eval_model`` starts from (its ``random.seed(42)``)
EVAL_SEED = 42


def seed_everything(seed):
    """
    Seed Python's ``random``, numpy's global generator and torch (CPU and every GPU).
    """
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_before_building_the_agent(train_model_module):
    """
    ``parlai.scripts.train_model``: ``--seed`` seeds everything, the model's initialisation too.

    Replaces ParlAI 1.7.2's ``set_seed`` in ``parlai/scripts/train_model.py`` (``random.seed`` and
    ``torch.manual_seed`` only; numpy's generator, which teachers and agents draw from too, stayed
    unseeded) and wraps ``TrainLoop.__init__``: ParlAI seeds in ``TrainModel.run`` only *after*
    ``TrainLoop(opt)`` has built the agent, so the initial weights (and anything drawn while the
    dictionary, agent and world are built) were unseeded, and ``multiprocessing_train`` /
    ``distributed_train`` workers, which create ``TrainLoop`` themselves, never seeded at all.

    With ``--seed S`` we now seed with ``S`` before ParlAI's ``TrainLoop.__init__`` (every
    distributed worker builds the same initial model), and with ``S + rank`` after it (data
    order, mixture sampling, dropout; rank 0 is what ``TrainModel.run`` then seeds again, so a
    single-process run follows ParlAI's own post-build seeding, and distributed workers draw
    different examples). Without ``--seed`` nothing changes.
    """
    from parlai.utils.distributed import get_rank

    parlai_init = train_model_module.TrainLoop.__init__

    def __init__(self, opt):
        seed = opt.get('seed')
        if seed is not None:
            seed_everything(seed)
        parlai_init(self, opt)
        if seed is not None:
            seed_everything(seed + get_rank())

    __init__.__doc__ = parlai_init.__doc__
    train_model_module.TrainLoop.__init__ = __init__
    train_model_module.set_seed = seed_everything


def seed_evaluation(eval_model_module):
    """
    ``parlai.scripts.eval_model``: evaluation seeds numpy and torch too, not only ``random``.

    Replaces ParlAI 1.7.2's ``random.seed(42)`` at the top of ``eval_model(opt)`` in
    ``parlai/scripts/eval_model.py`` with the same fixed seed for ``random``, numpy and torch, so
    sampled decoding (``--inference topk/nucleus/...``, drawn by torch) gives the same replies on
    every run.
    """
    parlai_eval_model = eval_model_module.eval_model

    def eval_model(opt):
        seed_everything(EVAL_SEED)
        return parlai_eval_model(opt)

    eval_model.__doc__ = parlai_eval_model.__doc__
    eval_model_module.eval_model = eval_model


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
    them is ParlAI's. A security fix: if its target changed, the program stops (``FAIL_CLOSED``).
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
    ``Opt.load`` (or whatever wraps it). A security fix (``FAIL_CLOSED``).
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
    (``FAIL_CLOSED``).
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


def check_options_after_parsing(params_module):
    """
    ``parlai.core.params``: options of ParlAI's own that it accepts but misuses are checked when
    the command line is parsed (:mod:`parlai_prosocial.options`): ``--multitask-weights``; and
    ``--t5-model-arch parlai_prosocial/tiny-t5`` (the tiny presets) is resolved to its directory.

    Wraps ParlAI 1.7.2's ``ParlaiParser.parse_args`` (``parlai/core/params.py``): its result is
    returned unchanged once the checks pass; a failed check raises a ``ProsocialOptionError``
    (one line at the command line). A ParlAI zoo base model that a preset of ours names and that
    cannot be downloaded while the options are parsed is one line too
    (:func:`base_model_not_downloaded`).
    """
    from parlai_prosocial.errors import ProsocialOptionError
    from parlai_prosocial.options import check_multitask_weights, resolve_tiny_t5

    ParlaiParser = params_module.ParlaiParser
    parlai_parse_args = ParlaiParser.parse_args

    def parse_args(self, args=None, namespace=None, **kwargs):
        try:
            opt = parlai_parse_args(self, args=args, namespace=namespace, **kwargs)
        except (RuntimeError, OSError) as e:
            partial = getattr(self, 'opt', None)
            if partial and _ours(init_opt=partial.get('init_opt')):
                unknown = str(e).partition('Trying to set opt from file that does not exist: ')
                if unknown[1]:  # a training preset given to display_data, eval_model, ...
                    raise ProsocialOptionError(
                        f'-o {partial["init_opt"]}: this command has no option '
                        f'--{unknown[2].replace("_", "-")}, which the preset sets; it is a '
                        'preset for parlai train_model (or multiprocessing_train, '
                        'distributed_train)'
                    ) from None
            # ParlAI downloads the zoo files of --dict-file and --model-file while it parses
            missing_base = base_model_not_downloaded(partial, e) if partial else None
            if missing_base is None:
                raise
            raise missing_base from None
        check_multitask_weights(opt)
        resolve_tiny_t5(opt)
        return opt

    parse_args.__doc__ = parlai_parse_args.__doc__
    ParlaiParser.parse_args = parse_args


def underscores_in_option_names_only(params_module):
    """
    ``parlai.core.params``: ``--gradient_clip`` still means ``--gradient-clip``, but an argument's
    *value* keeps its underscores.

    Replaces ParlAI 1.7.2's ``fix_underscores`` (``parlai/core/params.py``), which turns every
    ``_`` into ``-`` in any argument that starts with ``-``: a value that holds further options,
    such as ``canary_guard``'s ``--guarded-args "--model-file /models/my_prost/model"``, lost its
    underscores (``/models/my-prost/model``). Now only the option name is rewritten: the part
    before the first ``=`` or whitespace.
    """
    import re

    option_name = re.compile(r'^(-[^=\s]*)(.*)$', re.DOTALL)

    def fix_underscores(args):
        if not args:
            return args
        fixed = []
        for arg in args:
            if type(arg) is str and arg.startswith('-'):
                name, rest = option_name.match(arg).groups()
                arg = name.replace('_', '-') + rest
            fixed.append(arg)
        return fixed

    params_module.fix_underscores = fix_underscores


# --- Output a user reads: no misleading warning, the final reports where the curves are --------


def dictionary_without_multitask_weights(build_dict_module):
    """
    ``parlai.scripts.build_dict``: building the dictionary of a weighted mixture (``-t a,b
    --multitask-weights 9,1``, the Prost and Canary presets) no longer warns that the weights are
    ignored.

    ParlAI 1.7.2's ``build_dict`` reads the tasks once in order (``train:ordered:stream``), where
    its ``MultiWorld`` ignores the weights and says so; the warning read as if training ignored
    them. The worlds it creates to read the data now get no weights (what they do is unchanged);
    the dictionary keeps the full options. Training and validation still warn as ParlAI does.
    """
    import copy

    parlai_create_task = build_dict_module.create_task

    def create_task(opt, user_agents, default_world=None):
        if opt.get('multitask_weights', [1]) != [1]:
            opt = copy.deepcopy(opt)
            opt['multitask_weights'] = [1]
        return parlai_create_task(opt, user_agents, default_world=default_world)

    create_task.__doc__ = parlai_create_task.__doc__
    build_dict_module.create_task = create_task


def final_reports_to_tensorboard(train_model_module):
    """
    ``parlai.scripts.train_model``: with ``--tensorboard-log true`` the final valid and test
    reports are logged too, as ``METRIC/final_valid`` and ``METRIC/final_test`` at the last
    training step.

    ParlAI 1.7.2's ``TrainLoop.train`` logs the training reports and each validation during
    training to TensorBoard, but gives the final reports (of the best model, on the whole valid
    and test sets) only to Weights & Biases and ClearML. They get their own names: the best model
    is not the last one, so they do not belong on the validation curve.
    """
    parlai_train = train_model_module.TrainLoop.train

    def train(self):
        valid_report, test_report = parlai_train(self)
        tb_logger = getattr(self, 'tb_logger', None)  # only the primary worker has one
        if self.opt.get('tensorboard_log') and tb_logger is not None:
            tb_logger.log_metrics('final_valid', self.parleys, valid_report)
            tb_logger.log_metrics('final_test', self.parleys, test_report)
            tb_logger.flush()
        return valid_report, test_report

    train.__doc__ = parlai_train.__doc__
    train_model_module.TrainLoop.train = train


def quiet_hugging_face_noise(hf_dict_module):
    """
    ``parlai.agents.hugging_face.dict``: the Hugging Face tokenizer messages listed in
    :data:`parlai_prosocial.plugin_hook.KNOWN_LOG_NOISE` are filtered (that exact message, from
    that logger) once ParlAI's Hugging Face dictionaries are imported.

    ParlAI's ``txt2vec`` tokenizes the whole text and the agent truncates it afterwards
    (``--text-truncate``), so "Token indices sequence length is longer than ..." is about a
    sequence the model never sees; Canary adds its label tokens to T5's tokenizer and trains
    their embeddings, so "Special tokens have been added ..., make sure the associated word
    embeddings are fine-tuned or trained" is advice already followed. Both were printed by every
    T5 run. ``TRANSFORMERS_VERBOSITY`` set (to anything) keeps every message of transformers.
    """
    from parlai_prosocial.plugin_hook import quiet_known_log_noise

    quiet_known_log_noise()


# --- A global batch: the papers' batch sizes are per training step, whatever the workers -------


def per_worker_batchsize(opt, world_size):
    """
    ``opt`` for one of ``world_size`` training workers under ``--global-batchsize G``: its
    ``--batchsize`` becomes ``G / world_size``, so a step over all workers takes G examples, as
    one process with ``--batchsize G`` does. Unchanged (ParlAI's per-worker ``--batchsize``) when
    G is -1 (the default), or when ``--batchsize`` was given another value than G: a batch size
    given apart from the global one keeps ParlAI's meaning (said in the log). A G that the
    workers cannot share evenly is refused with one line.
    """
    import copy

    from parlai.utils import logging

    from parlai_prosocial.errors import ProsocialOptionError

    global_batchsize = opt.get('global_batchsize') or -1
    if global_batchsize <= 0:
        return opt
    if opt.get('batchsize') != global_batchsize:
        logging.info(
            f'--batchsize {opt.get("batchsize")} per worker (ParlAI\'s meaning: it differs from '
            f'--global-batchsize {global_batchsize}, which is not used)'
        )
        return opt
    if global_batchsize % world_size:
        raise ProsocialOptionError(
            f'--global-batchsize {global_batchsize} cannot be shared evenly by {world_size} '
            f'workers; give a multiple of {world_size}, or --global-batchsize -1 --batchsize N '
            'for ParlAI\'s N per worker'
        )
    if world_size == 1:
        return opt
    opt = copy.deepcopy(opt)
    opt['batchsize'] = global_batchsize // world_size
    # an agent loaded from an existing model file (resuming) takes its options from there,
    # except for the overrides
    opt.setdefault('override', {})['batchsize'] = opt['batchsize']
    logging.info(
        f'--global-batchsize {global_batchsize} over {world_size} workers: '
        f'--batchsize {opt["batchsize"]} per worker'
    )
    return opt


def global_batch(train_model_module):
    """
    ``parlai.scripts.train_model``: ``--global-batchsize G``, the batch of one training step over
    all workers of ``multiprocessing_train`` / ``distributed_train`` (and of ``train_model``,
    one worker). ParlAI's ``--batchsize`` is per worker, so a recipe's batch size was multiplied
    by the number of GPUs. The papers' presets set both ``batchsize`` and ``global_batchsize`` to
    the paper's batch: one process trains as before, N workers take G / N each.

    Wraps ParlAI 1.7.2's ``setup_args`` (``parlai/scripts/train_model.py``; the distributed
    scripts build their parsers with it) to add the option, and ``TrainLoop.__init__``, which
    every training worker builds once it knows the world size, to hand it
    :func:`per_worker_batchsize`'s options. Without ``--global-batchsize`` nothing changes.
    """
    from parlai.utils.distributed import num_workers

    parlai_setup_args = train_model_module.setup_args

    def setup_args(parser=None):
        parser = parlai_setup_args(parser)
        group = parser.add_argument_group('Global batch (parlai-prosocial)')
        group.add_argument(
            '--global-batchsize',
            type=int,
            default=-1,
            help='the batch size of one training step over all distributed workers: each takes '
            'this / number of workers as its --batchsize (used when --batchsize is this value '
            'too, as in the prosocial presets); -1: ParlAI\'s per-worker --batchsize',
        )
        return parser

    setup_args.__doc__ = parlai_setup_args.__doc__
    train_model_module.setup_args = setup_args

    parlai_init = train_model_module.TrainLoop.__init__

    def __init__(self, opt):
        parlai_init(self, per_worker_batchsize(opt, num_workers()))

    __init__.__doc__ = parlai_init.__doc__
    train_model_module.TrainLoop.__init__ = __init__
