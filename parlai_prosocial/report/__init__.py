"""
One command, one report: how prosocial is a dialogue model, with and without Canary in front.

    python -m parlai_prosocial.report -mf MODEL --report-dir OUT \\
        [--guard-model-file CANARY] \\
        [--toxichat-stance-model-file S --toxichat-offensive-model-file O] [-ne N]

The model is given as to ``parlai eval_model`` (``-mf``, ``-m`` and its options, ``zoo:`` names,
``hugging_face/*``, ``dialogpt_local``); every option the report does not know itself is passed to
the model. The report runs ParlAI's evaluation loop once per dataset and model (at most four
passes: ProsocialDialog's test split and ToxiChat's test threads, each unguarded and, with
``--guard-model-file``, behind ``-m canary_guard``) and computes everything from those passes:

* Table 3's metrics (``bleu-4``, ``f1``, ``ppl``, whatever the evaluation reports) overall, as
  ``parlai eval_model`` reports them, and per safety level of the context (the five levels of
  App. A.4), summed from the same per-example metrics;
* Table 5's shares on ToxiChat (``toxichat_disagree`` / ``_agree`` / ``_neutral`` /
  ``_offensive`` / ``_bad``);
* with Canary: all of it for the guarded model, the share of turns Canary steered per level, the
  added time per turn;
* examples per level (chosen with ``--examples-seed``): context, gold reply, the model's reply,
  the guarded reply, Canary's label and RoTs (Canary's decision from the guarded pass itself).

Each pass is exactly a ``parlai eval_model`` command, and the results file records those
commands: every number in it is what that command reports (``tests/test_report.py`` runs them
and compares). The folder holds ``results.json`` (:mod:`parlai_prosocial.results`),
``report.md`` and PNG charts. Why ``python -m`` and not ``parlai prosocial_report``, and the
choices where the issue is silent: ``docs/report.md``.
"""
