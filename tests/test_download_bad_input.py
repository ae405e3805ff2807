"""
The one download helper (``parlai_prosocial.download``) against a local HTTP server on 127.0.0.1:
whole, truncated, wrong, missing (404) and slow files, with short timeouts; and concurrent builds
of one directory, which must serialise and never delete each other's files.
"""

import hashlib
import http.server
import multiprocessing
import os
import time

import pytest

from parlai_prosocial import download
from parlai_prosocial.errors import ProsocialDownloadError, ProsocialError
from parlai_prosocial.testing import local_http_server

PAYLOAD = b'{"a": 1}\n' * 1000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    hits = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        Handler.hits[self.path] = Handler.hits.get(self.path, 0) + 1
        if self.path == '/whole':
            self._send(PAYLOAD)
        elif self.path == '/truncated':
            # announces the whole length, sends half, closes
            self.send_response(200)
            self.send_header('Content-Length', str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif self.path == '/wrong':
            self._send(PAYLOAD.replace(b'1', b'2'))
        elif self.path == '/slow':
            self.send_response(200)
            self.send_header('Content-Length', str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[:100])
            self.wfile.flush()
            time.sleep(3)
        elif self.path == '/error500':
            self.send_error(500, 'Internal Server Error')
        else:
            self.send_error(404, 'Not Found')

    def _send(self, body):
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope='module')
def server():
    with local_http_server(Handler) as url:
        yield url


def fetch(url, target, **kwargs):
    kwargs.setdefault('timeout', 1)
    kwargs.setdefault('retries', 0)
    kwargs.setdefault('retry_wait', 0)
    return download.fetch(url, str(target), **kwargs)


def test_whole_file_is_saved_under_its_name(server, tmp_path):
    target = tmp_path / 'data.json'
    fetch(server + '/whole', target, sha256=SHA, size=len(PAYLOAD))
    assert target.read_bytes() == PAYLOAD
    assert sorted(os.listdir(tmp_path)) == ['data.json']  # no .part left


@pytest.mark.parametrize(
    'path, kwargs, message',
    [
        ('/missing', {}, '{url}: HTTP error 404 Not Found'),
        (
            '/truncated',
            {},
            '{url}: got 4500 bytes, the server announced 9000: the transfer was cut short '
            '(after 1 attempts); nothing was saved as {target}',
        ),
        (
            '/wrong',
            {'sha256': SHA},
            '{url}: sha256 '
            + hashlib.sha256(PAYLOAD.replace(b'1', b'2')).hexdigest()
            + f', expected {SHA}: a different or corrupted file; nothing was saved as {{target}}',
        ),
        (
            '/whole',
            {'size': 9001},
            '{url}: got 9000 bytes, expected 9001: a different or incomplete file; nothing was '
            'saved as {target}',
        ),
        (
            '/slow',
            {},
            '{url}: timed out after 1 s without data (100 bytes received) (after 1 attempts); '
            'nothing was saved as {target}',
        ),
        (
            '/error500',
            {'retries': 1},
            '{url}: HTTP error 500 Internal Server Error (after 2 attempts); nothing was saved '
            'as {target}',
        ),
    ],
)
def test_failed_download_leaves_nothing(server, tmp_path, path, kwargs, message):
    target = tmp_path / 'data.json'
    url = server + path
    with pytest.raises(ProsocialDownloadError) as info:
        fetch(url, target, **kwargs)
    assert str(info.value) == message.format(url=url, target=target)
    assert isinstance(info.value, ProsocialError) and isinstance(info.value, OSError)
    assert os.listdir(tmp_path) == []  # neither the file nor its .part


def test_failed_download_keeps_an_older_file_out_of_the_way(server, tmp_path):
    # a re-run after a failure: the failed attempt never replaces or leaves a file
    target = tmp_path / 'data.json'
    with pytest.raises(ProsocialDownloadError):
        fetch(server + '/wrong', target, sha256=SHA)
    fetch(server + '/whole', target, sha256=SHA)
    assert target.read_bytes() == PAYLOAD


def test_unreachable_server(tmp_path):
    # port 9 (discard) on 127.0.0.1: nothing listens there
    with pytest.raises(ProsocialDownloadError) as info:
        fetch('http://127.0.0.1:9/x', tmp_path / 'x')
    assert str(info.value).startswith('http://127.0.0.1:9/x: cannot connect (')
    assert os.listdir(tmp_path) == []


def test_not_enough_disk_space(server, tmp_path):
    with pytest.raises(ProsocialDownloadError) as info:
        fetch(server + '/whole', tmp_path / 'x', size=1 << 62)
    assert f'needs {1 << 62} bytes in {tmp_path}, only ' in str(info.value)
    assert os.listdir(tmp_path) == []


# --- concurrent builds --------------------------------------------------------------------------


#: seconds a process of these tests may take to start or finish (the deadline of a hang, not a time
#: the test measures)
DEADLINE = 300


def _build_in_process(dpath, url, log, started):
    def build(directory):
        with open(log, 'a') as f:
            f.write(f'build {os.getpid()}\n')
        started.set()
        time.sleep(0.5)  # long enough for the other process to try meanwhile
        download.fetch(url, os.path.join(directory, 'data.json'), sha256=SHA, timeout=5)

    download.build_once(dpath, 'v1', build)
    with open(os.path.join(dpath, 'data.json'), 'rb') as f:
        assert f.read() == PAYLOAD


def test_concurrent_builds_serialise(server, tmp_path):
    dpath = str(tmp_path / 'datapath' / 'task')
    log = str(tmp_path / 'log')
    context = multiprocessing.get_context('fork')
    started = context.Event()
    first = context.Process(target=_build_in_process, args=(dpath, server + '/whole', log, started))
    first.start()
    # generous deadlines: they end as soon as the processes do, and a forked process on a loaded
    # machine (another test run beside this one) took more than 10 s to start
    assert started.wait(DEADLINE)
    second = context.Process(
        target=_build_in_process, args=(dpath, server + '/whole', log, context.Event())
    )
    second.start()
    first.join(DEADLINE)
    second.join(DEADLINE)
    assert first.exitcode == 0 and second.exitcode == 0
    with open(log) as f:
        assert len(f.read().splitlines()) == 1  # one build; the other process used it
    assert sorted(os.listdir(dpath)) == ['.built', 'data.json']


def test_failed_build_is_not_marked_and_is_redone(server, tmp_path):
    dpath = str(tmp_path / 'task')

    def bad(directory):
        download.fetch(server + '/wrong', os.path.join(directory, 'data.json'), sha256=SHA,
                       timeout=1, retries=0)

    with pytest.raises(ProsocialDownloadError):
        download.build_once(dpath, 'v1', bad)
    assert os.listdir(dpath) == []  # no file, no .built marker

    def good(directory):
        download.fetch(server + '/whole', os.path.join(directory, 'data.json'), sha256=SHA,
                       timeout=1, retries=0)

    download.build_once(dpath, 'v1', good)
    assert sorted(os.listdir(dpath)) == ['.built', 'data.json']


# --- the tasks' builds use the helper ------------------------------------------------------------


def test_prosocial_build_reports_a_404_and_leaves_nothing(server, tmp_path, monkeypatch):
    from parlai_prosocial.tasks.prosocial import build

    class Missing:
        url = server + '/missing'
        file_name = 'prosocial_dialog_v1.tar.gz'
        hashcode = SHA

    monkeypatch.setattr(build, 'resource', lambda: Missing)
    opt = {'datapath': str(tmp_path), 'datatype': 'train', 'prosocial_data_dir': None}
    with pytest.raises(ProsocialDownloadError) as info:
        build.data_dir(opt)
    assert str(info.value) == f'{server}/missing: HTTP error 404 Not Found'
    assert os.listdir(tmp_path / 'prosocial_dialog') == []  # no archive, no .built


def test_soda_build_checks_size_and_sha256(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from parlai_prosocial.samples import write_sample
    from parlai_prosocial.tasks.soda import build

    source = write_sample('soda', tmp_path / 'upstream')
    files = {}
    for name in build.FILES:
        path = os.path.join(source, name)
        files[name] = (download.sha256_of(path), os.path.getsize(path))
    monkeypatch.setattr(build, 'FILES', files)
    monkeypatch.setattr(build, 'url', lambda name: 'file://' + os.path.join(source, name))
    opt = {'datapath': str(tmp_path / 'data'), 'datatype': 'valid', 'soda_data_dir': None}
    # a wrong size: refused before the checksum, nothing kept
    right = files['valid.parquet']
    monkeypatch.setitem(build.FILES, 'valid.parquet', (right[0], 1))
    with pytest.raises(ProsocialDownloadError) as info:
        build.data_dir(opt)
    assert 'valid.parquet: got ' in str(info.value) and ', expected 1: ' in str(info.value)
    assert sorted(os.listdir(tmp_path / 'data' / 'soda')) == ['train.parquet']
    monkeypatch.setitem(build.FILES, 'valid.parquet', right)
    dpath = build.data_dir(opt)
    assert sorted(os.listdir(dpath)) == ['.built', 'test.parquet', 'train.parquet', 'valid.parquet']
    assert pq.ParquetFile(os.path.join(dpath, 'valid.parquet')).metadata.num_rows > 0
