"""
What a run of ours prints and logs: no misleading warning, the final reports where the curves are
(our runs only).
"""

from parlai_prosocial.our_names import is_our_run


def dictionary_without_multitask_weights(build_dict_module):
    """
    ``parlai.scripts.build_dict``: building the dictionary of a weighted mixture of ours (``-t
    prosocial:safety,... --multitask-weights 9,1``, the Prost and Canary presets) no longer warns
    that the weights are ignored.

    ParlAI 1.7.2's ``build_dict`` reads the tasks once in order (``train:ordered:stream``), where
    its ``MultiWorld`` ignores the weights and says so; the warning read as if training ignored
    them. The worlds it creates to read the data now get no weights (what they read is
    unchanged); the dictionary keeps the full options. Training and validation still warn as
    ParlAI does.
    """
    import copy

    parlai_create_task = build_dict_module.create_task

    def create_task(opt, user_agents, default_world=None):
        if opt.get('multitask_weights', [1]) != [1] and is_our_run(opt):
            opt = copy.deepcopy(opt)
            opt['multitask_weights'] = [1]
        return parlai_create_task(opt, user_agents, default_world=default_world)

    create_task.__doc__ = parlai_create_task.__doc__
    build_dict_module.create_task = create_task


def final_reports_to_tensorboard(train_model_module):
    """
    ``parlai.scripts.train_model``: a training run of ours with ``--tensorboard-log true`` logs
    the final valid and test reports too, as ``METRIC/final_valid`` and ``METRIC/final_test`` at
    the last training step.

    ParlAI 1.7.2's ``TrainLoop.train`` logs the training reports and each validation during
    training to TensorBoard, but gives the final reports (of the best model, on the whole valid
    and test sets) only to Weights & Biases and ClearML. They get their own names: the best model
    is not the last one, so they do not belong on the validation curve.
    """
    parlai_train = train_model_module.TrainLoop.train

    def train(self):
        valid_report, test_report = parlai_train(self)
        tb_logger = getattr(self, 'tb_logger', None)  # only the primary worker has one
        if self.opt.get('tensorboard_log') and tb_logger is not None and is_our_run(self.opt):
            tb_logger.log_metrics('final_valid', self.parleys, valid_report)
            tb_logger.log_metrics('final_test', self.parleys, test_report)
            tb_logger.flush()
        return valid_report, test_report

    train.__doc__ = parlai_train.__doc__
    train_model_module.TrainLoop.train = train


def training_progress_at_report_level(train_model_module):
    """
    ``parlai.scripts.train_model``: a training run of ours shows its progress lines (``time:..
    total_exs:.. total_steps:.. time_left:..`` and the training metrics, every
    ``--log-every-n-steps``) at ``--loglevel report``, the level our README uses.

    ParlAI 1.7.2's ``TrainLoop.log`` logs them at INFO, the level of its start-up dump of every
    option, so one level hid both: a user saw nothing between start-up and the first validation.
    Only that one message is raised to REPORT: the logger's ``info`` is ParlAI's again when
    ``log`` returns.
    """
    from parlai.utils import logging as parlai_logging

    parlai_log = train_model_module.TrainLoop.log

    def log(self):
        if not is_our_run(self.opt):
            return parlai_log(self)
        logger = parlai_logging.logger
        before = logger.__dict__.get('info')  # None: the class's method
        logger.info = lambda msg, *args, **kwargs: logger.log(msg, level=parlai_logging.REPORT)
        try:
            return parlai_log(self)
        finally:
            if before is None:
                del logger.info
            else:
                logger.info = before

    log.__doc__ = parlai_log.__doc__
    train_model_module.TrainLoop.log = log
