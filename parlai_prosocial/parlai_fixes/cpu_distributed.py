"""
Distributed training without GPUs, for runs of ours (``multiprocessing_train`` and, under SLURM,
``distributed_train`` with ``-t``/``-m``/``-o`` of ours or a model file of ours).

ParlAI's ``multiprocessing_train`` and ``distributed_train`` assume one GPU per worker: NCCL
backend, ``rank % torch.cuda.device_count()`` as device, ``.cuda()`` buffers. The fixes below add a
CPU path (gloo backend, CPU tensors) that a run of ours takes when CUDA is unavailable or
``--no-cuda`` is set; with GPUs, or for a run that names nothing of ours, every call goes to
ParlAI's unchanged code. Inside the CPU path, ``all_gather_list`` and the join device act only on
the process group our ``distributed_context`` created.
"""

from parlai_prosocial.our_names import is_our_run

#: the gloo process groups of this process's CPU workers, held until it exits
#: (:func:`distributed_on_cpu`'s ``release_the_group_at_exit``)
HELD_PROCESS_GROUPS = []

#: whether this process is inside the gloo group of a run of ours (our ``distributed_context``)
_in_our_cpu_group = False


def cpu_only(opt=None):
    """
    Whether a distributed run must go without GPUs: none usable, or ``--no-cuda``.
    """
    import torch

    return not torch.cuda.is_available() or bool(opt and opt.get('no_cuda'))


def _in_our_gloo_group(group=None):
    """
    Whether we are inside the process group that our CPU path created (gloo keeps CPU tensors).
    """
    import torch.distributed as dist

    return (_in_our_cpu_group and dist.is_available() and dist.is_initialized()
            and dist.get_backend(group) == 'gloo')


def _our_cpu_run(opt):
    return cpu_only(opt) and is_our_run(opt)


def distributed_on_cpu(distributed_module):
    """
    ``parlai.utils.distributed``: a run of ours runs its process group on CPU with gloo when there
    are no GPUs.

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
    * The process group is released only as the process exits, after the garbage is collected
      (:func:`release_the_group_at_exit`): released by the DDP model that ParlAI frees at the end,
      gloo's teardown deadlocked in 3 of 29 four-worker runs (issue 25).
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
        global _in_our_cpu_group
        if not _our_cpu_run(opt):
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
            _in_our_cpu_group = True
            release_the_group_at_exit(dist.distributed_c10d._get_default_group())
            from parlai_prosocial.known_noise import run_noise_quieted

            torch.manual_seed(42)
            distributed_module.sync_object(None)
            finished = False
            try:
                # (a spawned worker runs no script of its own to filter them)
                with ddp_accepting_cpu_device(), run_noise_quieted():
                    yield opt
                finished = True
            finally:
                if finished:
                    dist.barrier()
                    rank_zero_exits_last(rank, opt['distributed_world_size'])
                dist.destroy_process_group()
                _in_our_cpu_group = False

    def release_the_group_at_exit(group):
        """
        Hold the process group until this process exits, then collect the garbage and let it go.

        Freed by the DDP model's reducer (when ParlAI frees its train loop, or the garbage
        collector does), gloo's process group is destroyed with the GIL held, and its destructor
        waits for gloo's worker threads. One of them may still be freeing the last collective's
        work (the final barrier holds the all-reduce before it), whose tensors Python let go of:
        that needs the GIL, so both wait for ever (seen with gdb in 3 of 29 four-worker runs,
        issue 25). Python's own handle on the group releases the GIL when it destroys it (torch's
        binding does so for this reason); holding that handle until every DDP model is gone makes
        it the last one. Runs among multiprocessing's exit functions (atexit in a plain process,
        the end of a spawned worker), before :func:`rank_zero_exits_last` counts the worker out.
        """
        import gc
        import multiprocessing.util

        # held by this module, not by the exit function: a child that this process forks (a
        # test's, a user's) clears multiprocessing's exit functions, and the last handle going
        # with them destroyed the inherited group in the child, whose gloo threads do not exist
        # there (the child hung in ~ProcessGroupGloo)
        HELD_PROCESS_GROUPS.append(group)

        def release():
            gc.collect()  # the DDP models ParlAI's agents keep in reference cycles
            HELD_PROCESS_GROUPS.clear()

        multiprocessing.util.Finalize(None, release, exitpriority=10)

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
        if not _in_our_gloo_group():
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
            if device == -1 and _in_our_gloo_group(self.join_process_group):
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
        if _our_cpu_run(opt):
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
