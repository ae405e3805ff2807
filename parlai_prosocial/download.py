"""
The one way this plugin fetches a file, and builds a data directory from fetched files.

ParlAI 1.7.2's ``DownloadableFile.download_file`` / ``build_data.download`` write straight to the
final name (no ``.part`` file, whatever their docs say), so a truncated or wrong download stays
there and every later run fails its checksum until the user deletes it; they report a 404 as a
checksum mismatch; they retry for tens of seconds; and two processes building one ``--datapath``
delete or read each other's half-written files. Here instead:

* :func:`fetch` streams the URL into ``<name>.part``, checks the HTTP status, the announced
  length, the expected size and the sha256, and only then renames it to ``<name>``; on any failure
  the ``.part`` file is removed, so nothing a re-run would trust is left. Errors are
  :class:`~parlai_prosocial.errors.ProsocialDownloadError` naming the URL and what went wrong
  (``HTTP 404 Not Found``, ``timed out``, ``got N bytes, the server announced M``, ``sha256 ...,
  expected ...``). A known size is checked against the free disk space first.
* A transfer that breaks off (a dropped connection, a timeout) resumes where it stopped, with an
  HTTP range request, on the next attempt and on the next run: for a file whose sha256 or size is
  known, its ``.part`` is kept after such a failure (and only then), since the checks at the end
  still decide whether the whole file is right. A server that ignores ranges sends the file from
  the start, which is then written from the start.
* :func:`build_once` builds a data directory under an exclusive file lock (``<dir>.lock`` next to
  it): a second process waits, then finds the ``.built`` marker and uses the files; the directory
  is emptied and rebuilt only by the lock holder, and the marker is written only after every file
  passed its checks.
"""

import contextlib
import errno
import fcntl
import hashlib
import http.client
import os
import shutil
import socket
import time
import urllib.error
import urllib.request

from parlai_prosocial.errors import ProsocialDownloadError

#: seconds without any data before a download is given up (per connection attempt)
DEFAULT_TIMEOUT = 60
#: further attempts after a failed connection or an interrupted transfer (not after HTTP 4xx or a
#: checksum mismatch, which another attempt would not change)
DEFAULT_RETRIES = 2
_BLOCK = 1 << 16


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(_BLOCK), b''):
            digest.update(block)
    return digest.hexdigest()


class _Retryable(Exception):
    pass


def _check_free_space(url, directory, needed):
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise ProsocialDownloadError(
            f'{url}: needs {needed} bytes in {directory}, only {free} are free'
        )


def _attempt(url, part, timeout, user_agent, resume):
    offset = os.path.getsize(part) if resume and os.path.isfile(part) else 0
    headers = {'User-Agent': user_agent}
    if offset:
        headers['Range'] = f'bytes={offset}-'
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:  # the .part is not a prefix the server knows: start over
            os.remove(part)
            raise _Retryable(f'{url}: the server cannot resume at byte {offset}') from None
        message = f'{url}: HTTP error {e.code} {e.reason}'
        if e.code >= 500 or e.code == 429:
            raise _Retryable(message) from None
        raise ProsocialDownloadError(message) from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as e:
        reason = getattr(e, 'reason', e)
        raise _Retryable(f'{url}: cannot connect ({reason})') from None
    with response:
        if offset and response.status != 206:
            offset = 0  # the server ignored the range and sends the whole file
        announced = response.headers.get('Content-Length')
        announced = offset + int(announced) if announced and announced.isdigit() else None
        if announced is not None:
            _check_free_space(url, os.path.dirname(os.path.abspath(part)), announced - offset)
        received = offset
        from tqdm import tqdm

        # a progress bar on a terminal only (disable=None: off when stderr is not a TTY)
        bar = tqdm(
            total=announced, initial=offset, unit='B', unit_scale=True,
            desc=os.path.basename(part)[:-5], disable=None, leave=False,
        )
        try:
            with bar, open(part, 'ab' if offset else 'wb') as out:
                while True:
                    block = response.read1(_BLOCK)
                    if not block:
                        break
                    out.write(block)
                    received += len(block)
                    bar.update(len(block))
        except (socket.timeout, TimeoutError) as e:
            raise _Retryable(
                f'{url}: timed out after {timeout} s without data ({received} bytes received)'
            ) from e
        except (ConnectionError, http.client.HTTPException) as e:
            raise _Retryable(f'{url}: connection broken after {received} bytes ({e!r})') from e
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise ProsocialDownloadError(
                    f'{url}: the disk of {part} is full after {received} bytes'
                    + (f' of {announced}' if announced else '')
                ) from None
            raise
    if announced is not None and received != announced:
        raise _Retryable(
            f'{url}: got {received} bytes, the server announced {announced}: the transfer was '
            'cut short'
        )
    return received


def fetch(
    url,
    target,
    sha256=None,
    size=None,
    timeout=DEFAULT_TIMEOUT,
    retries=DEFAULT_RETRIES,
    retry_wait=2.0,
    user_agent='parlai-prosocial',
):
    """
    Download ``url`` to the path ``target`` through ``target + '.part'``; ``target`` exists
    afterwards only if the whole file arrived and matches ``size`` and ``sha256`` (when given).
    """
    part = target + '.part'
    # only a checked file may resume: the checks at the end judge the bytes kept from before
    resumable = sha256 is not None or size is not None
    keep_part = False
    directory = os.path.dirname(os.path.abspath(target))
    os.makedirs(directory, exist_ok=True)
    if size is not None:
        _check_free_space(url, directory, size)
    try:
        for attempt in range(retries + 1):
            try:
                received = _attempt(url, part, timeout, user_agent, resumable)
                break
            except _Retryable as e:
                if attempt == retries:
                    kept = os.path.getsize(part) if os.path.isfile(part) else 0
                    if resumable and kept:
                        keep_part = True
                        raise ProsocialDownloadError(
                            f'{e} (after {retries + 1} attempts); {kept} bytes kept in {part}: '
                            'running again resumes there'
                        ) from None
                    raise ProsocialDownloadError(
                        f'{e} (after {retries + 1} attempts); nothing was saved as {target}'
                    ) from None
                time.sleep(retry_wait * (attempt + 1))
        if size is not None and received != size:
            raise ProsocialDownloadError(
                f'{url}: got {received} bytes, expected {size}: a different or incomplete file; '
                f'nothing was saved as {target}'
            )
        if sha256 is not None:
            actual = sha256_of(part)
            if actual != sha256:
                raise ProsocialDownloadError(
                    f'{url}: sha256 {actual}, expected {sha256}: a different or corrupted file; '
                    f'nothing was saved as {target}'
                )
        os.replace(part, target)
    finally:
        if os.path.exists(part) and not keep_part:
            os.remove(part)
    return target


@contextlib.contextmanager
def exclusive(lock_path):
    """
    An exclusive ``flock`` on ``lock_path`` (created if needed) for the ``with`` block.
    """
    os.makedirs(os.path.dirname(os.path.abspath(lock_path)), exist_ok=True)
    with open(lock_path, 'a', encoding='utf-8') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_once(dpath, version, build):
    """
    Make ``dpath`` hold a finished build of ``version``: if its ``.built`` marker says so, nothing
    is done; otherwise, holding the lock ``dpath + '.lock'``, the directory is emptied,
    ``build(dpath)`` fills it (raising on any failure) and the marker is written. Concurrent
    callers wait for the lock and then find the marker. Returns ``dpath``.
    """
    from parlai.core import build_data

    if build_data.built(dpath, version):
        return dpath
    with exclusive(dpath.rstrip(os.sep) + '.lock'):
        if build_data.built(dpath, version):  # built by another process meanwhile
            return dpath
        if os.path.isdir(dpath):
            shutil.rmtree(dpath)
        os.makedirs(dpath)
        build(dpath)
        build_data.mark_done(dpath, version)
    return dpath
