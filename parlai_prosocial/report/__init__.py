"""
One command, one report: how prosocial is a dialogue model, with and without Canary in front.

    python -m parlai_prosocial.report -mf MODEL --report-dir OUT [--overwrite] \\
        [--guard-model-file CANARY] \\
        [--toxichat-stance-model-file S --toxichat-offensive-model-file O] [-ne N]

The model is given as to ``parlai eval_model`` (``-mf``, ``-m`` and its options, ``zoo:`` names,
``hugging_face/*``, ``dialogpt_local``); every option the report does not know itself is passed to
the model. The report runs ParlAI's evaluation loop once per dataset and model (at most four
passes: ProsocialDialog's test split and ToxiChat's test threads, each unguarded and, with
``--guard-model-file``, behind ``-m canary_guard``) and computes everything from those passes:

* Table 3's metrics (``bleu-4``, ``f1``, ``ppl``; ``rot_f1``, ``rot_bleu-4`` for a RoT & Response
  model) overall, as ``parlai eval_model`` reports them, and per safety level of the context (the
  five levels of App. A.4), summed from the same per-example metrics; the teacher is the format
  the model was trained on (its saved task), or ``--prosocial-task``;
* Table 5's shares on ToxiChat;
* with Canary: all of it for the guarded model, the share of turns Canary steered per level;
* the time per turn of each pass, batch by batch (not an ``eval_model`` number: the unguarded
  and guarded passes take turns batch by batch, the warm-up batch is left out);
* examples per level and of ToxiChat threads (chosen with ``--examples-seed``): context, gold RoTs
  and reply, the model's RoTs and reply, the guarded ones, Canary's label and RoTs.

Each pass is exactly a ``parlai eval_model`` command, and the results file records those
commands with absolute paths and the data folders named: every number but the times is what that
command reports, from any folder (``tests/test_report.py`` runs them and compares). The folder
(refused if it is used, unless ``--overwrite``) holds ``results.json``
(:mod:`parlai_prosocial.results`), ``report.md`` and PNG charts. Why ``python -m`` and not
``parlai prosocial_report``, and the choices where the issues were silent: ``docs/report.md``.
"""
from .script import ProsocialReport
