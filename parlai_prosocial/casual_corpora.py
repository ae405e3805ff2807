"""
ParlAI's casual corpora that our mixtures read, when they are not in the datapath.

``-o prosocial/prost`` and ``tiny_prost`` mix ProsocialDialog with ParlAI's DailyDialog, ConvAI2,
Wizard of Wikipedia, EmpatheticDialogues and BlendedSkillTalk; the Canary presets read three of
them through ``casual_safety:TASK``. ParlAI downloads a corpus the first time a teacher of it is
built; offline that ends, after half a minute of retries per corpus, in ParlAI's ``RuntimeError:
Connection broken too many times`` (and a folder without ``.built``, which the next try starts
again, its traceback headed by ``AttributeError: module 'parlai.tasks.dailydialog.agents' has no
attribute 'create_agents'``). For a run of ours this is decided before any teacher is built
(:func:`check_before_download`, the fix ``casual_corpora_before_download``): the corpora it reads
that are not built in its datapath, if their download server cannot be reached, are one line
naming them, where ParlAI wants them, and how to get them or stand them in
(:func:`unavailable`, also what :mod:`parlai_prosocial.error_translation` says when a download of
them fails anyway).
"""

import os

from parlai_prosocial.errors import ProsocialDownloadError

#: seconds to wait for the download server before calling it unreachable
PROBE_TIMEOUT = 5


def read_by(task):
    """
    The ParlAI tasks a ``-t`` string reads: each part's first name, and the task that a
    ``casual_safety:TASK`` (or ``casual_safety:casual_task=TASK``) part wraps.
    """
    names = []
    for part in str(task or '').split(','):
        fields = part.strip().split(':')
        if fields[0] == 'casual_safety' and len(fields) > 1:
            wrapped = fields[1]
            if wrapped.startswith('casual_task='):
                wrapped = wrapped[len('casual_task='):]
            fields = wrapped.replace(';', ':').split(':')
        if fields[0] and fields[0] not in names:
            names.append(fields[0])
    return names


def not_built(opt):
    """
    ``[(task, its folder under the datapath)]``: the casual corpora (``samples.CASUAL``) that the
    run with ``opt`` reads and that its datapath does not hold built (ParlAI's ``.built`` of the
    version its ``build.py`` writes).
    """
    from parlai.core.build_data import built

    from parlai_prosocial.samples import CASUAL

    datapath = opt.get('datapath') or ''
    missing = []
    for task in read_by(opt.get('task')):
        if task in CASUAL:
            folder, version = CASUAL[task]
            path = os.path.join(datapath, folder)
            if not built(path, version_string=version):
                missing.append((task, path))
    return missing


def _download_urls(task):
    import importlib

    try:
        resources = importlib.import_module(f'parlai.tasks.{task}.build').RESOURCES
    except (ImportError, AttributeError):
        return []
    return [resource.url for resource in resources]


def unreachable(tasks):
    """
    Why the download server of ``tasks`` cannot be reached (the first one that cannot), None if
    it can: one request of ParlAI's own (``requests``, its proxies) per server.
    """
    from urllib.parse import urlsplit

    import requests

    probed = set()
    for task in tasks:
        for url in _download_urls(task)[:1]:
            server = urlsplit(url).netloc
            if server in probed:
                continue
            probed.add(server)
            try:
                requests.head(url, timeout=PROBE_TIMEOUT, allow_redirects=False).close()
            except requests.RequestException as e:
                import re

                cause = re.search(r'\[Errno [^\]]*\][^\'")]*|timed out', str(e))
                return f'{server}: {type(e).__name__}{": " + cause.group(0) if cause else ""}'
    return None


def unavailable(opt, missing, reason):
    """
    The one line for the casual corpora ``missing`` (``[(task, folder)]``) of the run with
    ``opt``, which cannot be downloaded (``reason``).
    """
    from parlai_prosocial.samples import CASUAL

    init_opt = str(opt.get('init_opt') or '')
    run = f'-o {init_opt}' if init_opt.startswith('prosocial/') else f'-t {opt.get("task")}'
    tasks = [task for task, _ in missing]
    datapath = opt.get('datapath') or ''
    folders = ', '.join(os.path.relpath(folder, datapath) for _, folder in missing)
    half = [os.path.relpath(f, datapath) for _, f in missing if os.path.isdir(f)]
    unfinished = f'; {", ".join(half)} holds a download that did not finish' if half else ''
    stand_in = ''
    if all(task in CASUAL for task in tasks):
        stand_in = (
            ', or stand them in with tiny demo copies (not the corpora): eval "$(python -m '
            'parlai_prosocial.offline_data DIR)" writes them, marked built, under DIR/parlai_data '
            'and points PARLAI_DATAPATH there (or give --datapath DIR/parlai_data)'
        )
    corpora = f'corpora {", ".join(tasks)} are' if len(tasks) > 1 else f'corpus {tasks[0]} is'
    return ProsocialDownloadError(
        f'{run}: ParlAI\'s casual {corpora} not in the datapath {datapath} (ParlAI wants '
        f'{folders} there{unfinished}) and cannot be downloaded ({reason}); run once with the '
        f'network{stand_in}'
    )


def check_before_download(opt):
    """
    One line (:func:`unavailable`) before any teacher is built when the run with ``opt`` reads
    casual corpora that its datapath does not hold and their server cannot be reached; nothing
    when they are there, or can be downloaded (ParlAI then does).
    """
    missing = not_built(opt)
    if not missing:
        return
    reason = unreachable([task for task, _ in missing])
    if reason is not None:
        raise unavailable(opt, missing, reason)
