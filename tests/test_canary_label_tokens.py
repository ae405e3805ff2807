"""
A Canary checkpoint is only ever run with the label tokens it was trained with: the tokens its
``.dict`` holds beyond the T5 tokenizer, in that order, are the ids its embedding rows mean. A
label-token list that differs (missing from the ``.opt`` is the default list; empty, a subset,
single characters, another order, another list on the command line, ``--init-model`` of a token
Canary into a run without tokens, the same through ``load_canary``'s options) or a
``--t5-model-arch`` that moved or names another T5 stops with one line (a ``ModelFileError``),
never a size-mismatch or hub traceback and never a chat with mismatched ids; so do damaged
safetensors weights of ``--t5-model-arch`` under ``-m canary`` and ``-m cosmo``. Run through the
stock commands in this process; the models are untrained (what is checked is their files): the
session's ``untrained_canary`` has the five label tokens (the default).
"""

import json
import shutil
import struct

import pytest

from parlai_prosocial.errors import ModelFileError
from parlai_prosocial.formats import SAFETY_LABELS
from parlai_prosocial.testing import one_line_error, parlai_in_process
from parlai_prosocial.testing.models import REMOVED, copy_model_file, save_untrained

LABELS = ','.join(SAFETY_LABELS)


def chat(model_file, tmp_path, *extra):
    return parlai_in_process(
        ['interactive', '-mf', model_file, '--datapath', tmp_path / 'data'] + list(extra),
        cwd=str(tmp_path), stdin='Hello there.\n',
    )


def refused(run, *args):
    """
    The one line ``run(*args)`` stops with: a ``ModelFileError`` (``testing.one_line_error``).
    """
    return one_line_error(run, *args, error=ModelFileError)


def test_the_tokens_it_was_trained_with_chat(untrained_canary, tmp_path):
    def replies(run):
        return [line for line in run.output.splitlines() if ']: ' in line]

    assert len(replies(chat(untrained_canary, tmp_path))) == 1
    # an .opt without the list: the default list, which is the one it was trained with
    missing = copy_model_file(untrained_canary, tmp_path / 'missing', special_tok_lst=REMOVED)
    assert len(replies(chat(missing, tmp_path))) == 1


@pytest.mark.parametrize('tokens', [
    '',  # the labels as text
    ','.join(SAFETY_LABELS[:3]),  # a subset
    'a,b,c,d,e',  # single characters, in the T5 vocabulary already: no new ids at all
    ','.join(reversed(SAFETY_LABELS)),  # another order: the same sizes, every id another label
], ids=['empty', 'subset', 'single characters', 'another order'])
def test_another_list_in_the_opt(untrained_canary, tmp_path, tokens):
    changed = copy_model_file(untrained_canary, tmp_path / 'changed', special_tok_lst=tokens)
    line = refused(chat, changed, tmp_path)
    assert line.startswith(
        f'ModelFileError: --model-file {changed}: trained with the label tokens {LABELS} (ids '
    ), line
    assert line.endswith(f'the ids would name other labels. Load it with --special-tok-lst '
                         f'{LABELS}'), line


def test_another_list_on_the_command_line(untrained_canary, tmp_path):
    line = refused(chat, untrained_canary, tmp_path, '--special-tok-lst', '__casual__')
    assert 'but this run adds __casual__ (--special-tok-lst __casual__, from the command line' \
        in line, line


def test_a_text_canary_given_tokens(tmp_path, tiny_t5):
    # a Canary trained with its labels as text (the released one), given the tokens
    model_file = save_untrained(tmp_path / 'text', model='canary', t5_model_arch=tiny_t5,
                                special_tok_lst='')
    line = refused(chat, model_file, tmp_path, '--special-tok-lst', LABELS)
    assert "trained with the label tokens '' (none: the labels are plain text)" in line, line


def test_init_model_of_a_token_canary_without_tokens(untrained_canary, tmp_path, tiny_t5,
                                                      sample_data_dir):
    line = refused(
        parlai_in_process,
        ['train_model', '-m', 'canary', '-t', 'prosocial:safety', '--t5-model-arch', tiny_t5,
         '--init-model', untrained_canary, '--special-tok-lst', '', '-mf',
         tmp_path / 'new' / 'model', '--datapath', tmp_path / 'data', '--num-epochs', '1'],
        str(tmp_path), {'PROSOCIAL_DATA_DIR': sample_data_dir},
    )
    assert line.startswith(f'ModelFileError: --init-model {untrained_canary}: trained with the '
                           f'label tokens {LABELS}'), line
    assert "but this run adds '' (none: the labels are plain text)" in line, line


def test_load_canary_with_other_t5_options(untrained_canary, tmp_path):
    # what the guard and the report load Canary with: options given in Python
    from parlai_prosocial.agents.canary import load_canary

    line = refused(lambda: load_canary(untrained_canary, special_tok_lst=SAFETY_LABELS[0],
                                       datapath=str(tmp_path)))
    assert 'trained with the label tokens' in line and 'but this run adds __casual__' in line


def test_the_guard_over_a_canary_with_another_list(untrained_canary, tmp_path):
    changed = copy_model_file(untrained_canary, tmp_path / 'changed',
                                special_tok_lst=','.join(reversed(SAFETY_LABELS)))
    line = refused(
        parlai_in_process,
        ['interactive', '-m', 'canary_guard', '--canary-model-file', changed,
         '--guarded-model', 'repeat_query', '--datapath', tmp_path / 'data'],
        str(tmp_path),
    )
    assert line.startswith(f'ModelFileError: --model-file {changed}: trained with the label '
                           'tokens'), line


def test_a_t5_folder_that_moved(untrained_canary, tmp_path, tiny_t5):
    moved = copy_model_file(untrained_canary, tmp_path / 'moved',
                              t5_model_arch=str(tmp_path / 'gone' / 'tiny_t5'))
    line = refused(chat, moved, tmp_path)
    assert line == (f'ModelFileError: --t5-model-arch {tmp_path}/gone/tiny_t5 (from the command '
                    "line or the model file's .opt): no such directory; if the T5 folder moved, "
                    'give its new place with --t5-model-arch DIR')


def test_another_t5(untrained_canary, tmp_path):
    from parlai_prosocial.agents.canary.tiny import build_tiny_t5

    # another tokenizer (trained on other texts)
    other = build_tiny_t5(str(tmp_path / 'other_t5'), texts=['Another text, another vocabulary.'])
    line = refused(chat, untrained_canary, tmp_path, '--t5-model-arch', other)
    assert line.startswith(f'ModelFileError: --model-file {untrained_canary}: its dictionary '
                           f'{untrained_canary}.dict is not the tokenizer of --t5-model-arch '
                           f'{other}'), line
    # the same tokenizer, another size
    wider = build_tiny_t5(str(tmp_path / 'wider_t5'), d_model=48)
    line = refused(chat, untrained_canary, tmp_path, '--t5-model-arch', wider)
    assert line.startswith(f'ModelFileError: --model-file {untrained_canary}: its weights do not '
                           f'fit the T5 of --t5-model-arch {wider}'), line


def _cut_inside_a_token(text):
    """
    The ``.dict`` cut inside a line of its second half, where the piece of the token left is no
    token of the dictionary (so none of T5's vocabulary): read as a token, it would make the
    dictionary look like another T5's.
    """
    lines = text.split('\n')
    tokens = {line.split('\t')[0] for line in lines}
    offset = sum(len(line) + 1 for line in lines[: len(lines) // 2])
    for line in lines[len(lines) // 2:]:
        token = line.split('\t')[0]
        piece = next((n for n in range(2, len(token)) if token[:n] not in tokens), None)
        if piece is not None:
            return text[: offset + piece]
        offset += len(line) + 1
    raise AssertionError('every prefix of every token is a token: no piece to cut to')


@pytest.mark.parametrize('damage, expected', [
    (lambda text: text[: len(text) // 2], 'tokens, fewer than the '),
    (lambda text: '', 'holds 0 tokens, fewer than the '),
    (_cut_inside_a_token, 'tokens, fewer than the '),
], ids=['cut', 'empty', 'cut inside a token'])
def test_a_dictionary_cut_short(untrained_canary, tmp_path, damage, expected):
    # what says the ids of its tokens: never read as "trained without label tokens"
    cut = copy_model_file(untrained_canary, tmp_path / 'cut')
    with open(cut + '.dict', encoding='utf-8') as f:
        text = f.read()
    with open(cut + '.dict', 'w', encoding='utf-8') as f:
        f.write(damage(text))
    line = refused(chat, cut, tmp_path)
    assert line.startswith(
        f'ModelFileError: --model-file {cut}: its dictionary {cut}.dict holds '), line
    assert expected in line and line.endswith('is it cut short? Copy it again with the model file')


def test_a_binary_dictionary(untrained_canary, tmp_path):
    binary = copy_model_file(untrained_canary, tmp_path / 'binary')
    with open(binary + '.dict', 'wb') as f:
        f.write(b'\x80\x04\x95 not text')
    assert refused(chat, binary, tmp_path) == (
        f'ModelFileError: {binary}.dict: not a ParlAI dictionary (not UTF-8 text); copy it again '
        'with its model file')


# --- damaged safetensors weights of --t5-model-arch ----------------------------------------------


def _damaged(data, how):
    """
    ``data`` (a safetensors file's bytes) damaged ``how``.
    """
    size = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + size])
    tensor = next(name for name in header if name != '__metadata__')

    def with_header(changed):
        text = json.dumps(changed).encode()
        return struct.pack('<Q', len(text)) + text + data[8 + size:]

    if how == 'bad dtype':
        return with_header(dict(header, **{tensor: dict(header[tensor], dtype='Q9')}))
    if how == 'huge header':
        return struct.pack('<Q', 10 ** 15) + data[8:]
    if how == 'header not JSON':
        return struct.pack('<Q', size) + b'x' * size + data[8 + size:]
    if how == 'cut':
        return data[: len(data) // 2]
    assert how == 'wrong offsets'
    return with_header(dict(header, **{tensor: dict(header[tensor], data_offsets=[0, 10 ** 9])}))


@pytest.mark.parametrize('agent', ['canary', 'cosmo'])
@pytest.mark.parametrize('how', ['bad dtype', 'huge header', 'header not JSON', 'cut',
                                 'wrong offsets'])
def test_damaged_safetensors(agent, how, tiny_t5, tmp_path):
    damaged = tmp_path / 't5'
    shutil.copytree(tiny_t5, damaged)
    weights = damaged / 'model.safetensors'
    weights.write_bytes(_damaged(weights.read_bytes(), how))
    line = refused(chat, '', tmp_path, '-m', agent, '--t5-model-arch', damaged)
    assert line.startswith(f'ModelFileError: --t5-model-arch {damaged}: {weights}: not a '
                           'readable safetensors file ('), line
    assert line.endswith('is it cut short or damaged? Save the model there again '
                         '(save_pretrained)'), line
