"""
Resuming a broken download (``parlai_prosocial.download.fetch``) with HTTP range requests,
against a local server on 127.0.0.1 that breaks its first transfer off half way: within one run
(the next attempt) and across runs (the ``.part`` kept for a checked file), a server that ignores
ranges, and a file without checks, which never resumes.
"""

import hashlib
import http.server
import os
import re

import pytest

from parlai_prosocial import download
from parlai_prosocial.errors import ProsocialDownloadError
from parlai_prosocial.testing import local_http_server

PAYLOAD = bytes(range(256)) * 40
SHA = hashlib.sha256(PAYLOAD).hexdigest()
HALF = len(PAYLOAD) // 2


class Handler(http.server.BaseHTTPRequestHandler):
    #: path -> the Range header of each request (None: none)
    requests = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        seen = Handler.requests.setdefault(self.path, [])
        asked = self.headers.get('Range')
        seen.append(asked)
        honours_ranges = self.path.startswith('/ranges')
        if len(seen) == 1 or self.path.endswith('/always-breaks'):
            # announce the whole file, send half of it, hang up
            self.send_response(200)
            self.send_header('Content-Length', str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:HALF])
            self.wfile.flush()
            self.close_connection = True
            return
        start = int(re.fullmatch(r'bytes=(\d+)-', asked).group(1)) if asked else 0
        if honours_ranges and start:
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}')
            body = PAYLOAD[start:]
        else:
            self.send_response(200)
            body = PAYLOAD
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    Handler.requests = {}
    with local_http_server(Handler) as url:
        yield url


def fetch(url, target, **kwargs):
    return download.fetch(url, str(target), timeout=5, retry_wait=0, **kwargs)


def test_the_next_attempt_resumes_where_the_transfer_broke_off(server, tmp_path):
    target = tmp_path / 'data.bin'
    fetch(server + '/ranges/a', target, sha256=SHA, retries=1)
    assert target.read_bytes() == PAYLOAD
    assert Handler.requests['/ranges/a'] == [None, f'bytes={HALF}-']
    assert os.listdir(tmp_path) == ['data.bin']


def test_the_next_run_resumes_from_the_kept_part(server, tmp_path):
    target = tmp_path / 'data.bin'
    with pytest.raises(ProsocialDownloadError) as info:
        fetch(server + '/ranges/b', target, sha256=SHA, retries=0)
    part = f'{target}.part'
    assert str(info.value).endswith(
        f'(after 1 attempts); {HALF} bytes kept in {part}: running again resumes there'
    )
    assert os.listdir(tmp_path) == ['data.bin.part']
    fetch(server + '/ranges/b', target, size=len(PAYLOAD), sha256=SHA, retries=0)
    assert target.read_bytes() == PAYLOAD
    assert Handler.requests['/ranges/b'] == [None, f'bytes={HALF}-']
    assert os.listdir(tmp_path) == ['data.bin']


def test_a_server_that_ignores_ranges_sends_the_file_again(server, tmp_path):
    target = tmp_path / 'data.bin'
    fetch(server + '/no-ranges', target, sha256=SHA, retries=1)
    assert target.read_bytes() == PAYLOAD  # written from the start, not appended
    assert Handler.requests['/no-ranges'] == [None, f'bytes={HALF}-']


def test_a_file_without_checks_never_resumes(server, tmp_path):
    target = tmp_path / 'data.bin'
    with pytest.raises(ProsocialDownloadError, match='nothing was saved as'):
        fetch(server + '/ranges/always-breaks', target, retries=1)
    assert Handler.requests['/ranges/always-breaks'] == [None, None]
    assert os.listdir(tmp_path) == []


def test_a_wrong_file_after_resuming_leaves_nothing(server, tmp_path):
    target = tmp_path / 'data.bin'
    with pytest.raises(ProsocialDownloadError, match='sha256'):
        fetch(server + '/ranges/c', target, sha256='0' * 64, retries=1)
    assert os.listdir(tmp_path) == []


def test_a_file_larger_than_the_free_space_is_refused_before_writing(server, tmp_path, monkeypatch):
    # no size given: the length the server announces is checked
    usage = download.shutil.disk_usage(str(tmp_path))
    monkeypatch.setattr(
        download.shutil, 'disk_usage', lambda path: usage._replace(free=len(PAYLOAD) - 1)
    )
    target = tmp_path / 'data.bin'
    with pytest.raises(ProsocialDownloadError) as info:
        fetch(server + '/ranges/d', target, retries=0)
    assert str(info.value) == (
        f'{server}/ranges/d: needs {len(PAYLOAD)} bytes in {tmp_path}, '
        f'only {len(PAYLOAD) - 1} are free'
    )
    assert os.listdir(tmp_path) == []


def test_a_full_disk_is_one_line(server, tmp_path, monkeypatch):
    import errno

    class FullDisk:
        def __init__(self, *args):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(download, 'open', FullDisk, raising=False)
    target = tmp_path / 'data.bin'
    with pytest.raises(ProsocialDownloadError) as info:
        fetch(server + '/ranges/e', target, sha256=SHA, retries=0)
    assert str(info.value) == (
        f'{server}/ranges/e: the disk of {target}.part is full after 0 bytes of {len(PAYLOAD)}'
    )
