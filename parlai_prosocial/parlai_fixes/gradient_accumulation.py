"""
``--update-freq`` for ParlAI's classifiers (a ParlAI bug: every run).
"""


def classifier_accumulates_gradients(classifier_module):
    """
    ``parlai.core.torch_classifier_agent``: ``TorchClassifierAgent.train_step`` zeroes the
    gradients through ``self.zero_grad()``, which keeps them while ``--update-freq K`` accumulates,
    instead of calling ``self.optimizer.zero_grad()`` itself.

    ParlAI 1.7.2's classifier zeroed them before every micro-batch, so with ``--update-freq K``
    each update used only the last of its K micro-batches, divided by K: K times fewer examples
    and a K times smaller step than ``--batchsize K*B``, silently (``transformer/classifier``,
    ``bert_classifier``, ParlAI's safety classifiers). The rest is ParlAI's code as written.
    """
    torch, Output = classifier_module.torch, classifier_module.Output
    AverageMetric = classifier_module.AverageMetric

    def train_step(self, batch):
        if batch.text_vec is None:
            return Output()
        self.model.train()
        self.zero_grad()  # ParlAI: self.optimizer.zero_grad()

        labels = self._get_labels(batch)
        scores = self.score(batch)
        loss = self.criterion(scores, labels)
        self.record_local_metric('loss', AverageMetric.many(loss))
        loss = loss.mean()
        self.backward(loss)
        self.update_params()

        _, prediction_id = torch.max(scores.cpu(), 1)
        preds = [self.class_list[idx] for idx in prediction_id]
        self._update_confusion_matrix(batch, preds)
        return Output(preds)

    agent_class = classifier_module.TorchClassifierAgent
    train_step.__doc__ = agent_class.train_step.__doc__
    agent_class.train_step = train_step
