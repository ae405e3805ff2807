"""
A ParlAI dictionary as a Hugging Face ``tokenizers`` tokenizer with ParlAI's ids.

ParlAI tokenises in Python (``parlai.core.dict.DictionaryAgent.tokenize``); the export writes a
``tokenizer.json`` that gives the same ids for the same text, for the two dictionaries of the
``transformer/generator`` family that the plugin's presets and BlenderBot use:

* ``--dict-tokenizer re`` (the tiny presets): ParlAI splits with the regular expression
  ``\\w+|[^\\w\\s]|\\n`` of Python's ``re`` after lowercasing (``--dict-lower``) and looks each
  piece up, unknown pieces becoming ``__unk__``; the special tokens (``--special-tok-lst``, Prost's
  ``__endrots__``) are cut out of the raw text first. Here: a ``WordLevel`` model over the very
  vocabulary and ids, the ``Lowercase`` normalizer, and a ``Split`` pre-tokenizer whose character
  classes are *Python's* ``\\w`` and ``\\s`` written out code point by code point (the Rust regex
  engine's ``\\w`` differs from Python's on marks and numerals such as ``²``), and the special
  tokens as added tokens matched on the raw text. Python lowercases a capital sigma at the end of
  a word to ``ς``, which the character-wise ``Lowercase`` does not: a ``Replace`` before it does
  (the last-letter case: a sigma after a cased letter, or a cased letter and one case-ignorable
  character, not followed by a cased letter).
* ``--dict-tokenizer bytelevelbpe`` (``zoo:blender/reddit_3B``, the Prost preset): ParlAI runs HF's
  own ``ByteLevelBPETokenizer`` on its ``-vocab.json`` / ``-merges.txt``, whose ids are ParlAI's
  minus 4 (ParlAI's four special tokens come first); the BPE is rebuilt with ParlAI's ids (the same
  merges, so the same pieces), the special tokens as added tokens.

Any other dictionary (``bpe``, ``gpt2``, ``split``, ``space``, ``nltk``, n-grams) is refused with
one line: nothing here would tokenise it as ParlAI does.
"""

import functools
import re
import sys

from parlai_prosocial.errors import ExportError

#: ParlAI's 're' tokenizer (parlai.core.dict.RETOK), written with Python's classes spelled out
_RE_PATTERN = '[{w}]+|[^{w}{s}]|\\n'

#: Python's lowercasing of a final capital sigma, which tokenizers' char-wise Lowercase misses
_FINAL_SIGMA = (
    r'(?<=\p{Cased}|\p{Cased}\p{Case_Ignorable})\x{03A3}(?!\p{Case_Ignorable}*\p{Cased})'
)

SUPPORTED = ('re', 'bytelevelbpe')


def _ranges(pattern):
    """
    The code points matching ``pattern`` (one character), as ``(first, last)`` ranges.
    """
    compiled = re.compile(pattern)
    ranges, start = [], None
    for point in range(sys.maxunicode + 1):
        if compiled.match(chr(point)) is not None:
            if start is None:
                start = point
        elif start is not None:
            ranges.append((start, point - 1))
            start = None
    if start is not None:
        ranges.append((start, sys.maxunicode))
    return ranges


def _character_class(ranges):
    return ''.join(
        f'\\x{{{a:X}}}' if a == b else f'\\x{{{a:X}}}-\\x{{{b:X}}}' for a, b in ranges
    )


@functools.lru_cache(maxsize=None)
def re_tokenizer_pattern():
    """
    ParlAI's ``\\w+|[^\\w\\s]|\\n`` with this Python's ``\\w`` and ``\\s`` as explicit classes.
    """
    return _RE_PATTERN.format(
        w=_character_class(_ranges(r'\w')), s=_character_class(_ranges(r'\s'))
    )


def check_expressible(opt):
    """
    :class:`ExportError` for a dictionary this module cannot write (see the module docstring).
    """
    tokenizer = opt.get('dict_tokenizer') or 're'
    if tokenizer not in SUPPORTED:
        raise ExportError(
            f'--dict-tokenizer {tokenizer}: the export writes a Hugging Face tokenizer that gives '
            f'ParlAI\'s ids only for {" and ".join(SUPPORTED)} dictionaries; retrain with one of '
            'them (the tiny presets use re, BlenderBot bytelevelbpe)'
        )
    if (opt.get('dict_max_ngram_size') or -1) > 1:
        raise ExportError(
            f'--dict-max-ngram-size {opt["dict_max_ngram_size"]}: ParlAI\'s n-gram lookup has no '
            'Hugging Face tokenizer; export a model trained without it'
        )
    if tokenizer == 'bytelevelbpe' and opt.get('dict_lower'):
        raise ExportError(
            '--dict-lower true with --dict-tokenizer bytelevelbpe: ParlAI lowercases before its '
            'special-token split, which no Hugging Face tokenizer does in that order'
        )
    if opt.get('bpe_dropout'):
        raise ExportError('--bpe-dropout: a Hugging Face tokenizer cannot drop merges at random')


def _added(tokens, special):
    from tokenizers import AddedToken

    return [
        AddedToken(t, single_word=False, lstrip=False, rstrip=False, normalized=False,
                   special=special)
        for t in tokens
    ]


def _re_tokenizer(dictionary):
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

    vocab = {token: int(index) for token, index in dictionary.tok2ind.items()}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token=dictionary.unk_token))
    if dictionary.lower:
        tokenizer.normalizer = normalizers.Sequence(
            [normalizers.Replace(Regex(_FINAL_SIGMA), '\u03c2'), normalizers.Lowercase()]
        )
    tokenizer.pre_tokenizer = pre_tokenizers.Split(
        Regex(re_tokenizer_pattern()), behavior='removed', invert=True
    )
    return tokenizer


def _bytelevel_tokenizer(dictionary):
    """
    ParlAI's ByteLevelBPE (``dictionary.bpe.tokenizer``) with ParlAI's ids.
    """
    import json

    from tokenizers import Tokenizer

    hf = dictionary.bpe.tokenizer
    state = json.loads(hf.to_str())
    hf_vocab = state['model']['vocab']
    vocab = {}
    for token in hf_vocab:
        if token not in dictionary.tok2ind:
            raise ExportError(
                f'{dictionary.opt.get("dict_file")}: the BPE token {token!r} of its -vocab.json is '
                'not in the ParlAI dictionary; the dictionary and its BPE files do not belong '
                'together'
            )
        vocab[token] = int(dictionary.tok2ind[token])
    # ParlAI's special tokens are added tokens of its HF tokenizer; in the vocabulary with
    # ParlAI's ids, the added tokens of the same names take those ids
    specials = [dictionary.null_token, dictionary.start_token, dictionary.end_token,
                dictionary.unk_token] + list(dictionary.additional_special_tokens or [])
    for token in specials:
        vocab[token] = int(dictionary.tok2ind[token])
    state['model']['vocab'] = vocab
    state['added_tokens'] = []
    tokenizer = Tokenizer.from_str(json.dumps(state))
    return tokenizer


def parlai_tokenizer(dictionary, end_token_after_input):
    """
    A ``transformers.PreTrainedTokenizerFast`` that tokenises as the ParlAI ``dictionary``
    (with its special tokens added, as the agent's ``build_dictionary`` leaves it), with the same
    ids. ``end_token_after_input``: ParlAI's ``--history-add-global-end-token end``, so that
    ``tokenizer(text)`` ends with ``__end__`` as the model's input does.

    ParlAI's four special tokens are the tokenizer's pad (``__null__``), bos (``__start__``), eos
    (``__end__``) and unk; ``--special-tok-lst`` tokens (Prost's ``__endrots__``) are added tokens
    that are not "special" to HF, so ``decode(..., skip_special_tokens=True)`` keeps them, as
    ParlAI's decoding does.
    """
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    check_expressible(dictionary.opt)
    if dictionary.tokenizer == 're':
        tokenizer = _re_tokenizer(dictionary)
    else:
        tokenizer = _bytelevel_tokenizer(dictionary)
    specials = [dictionary.null_token, dictionary.start_token, dictionary.end_token,
                dictionary.unk_token]
    if dictionary.tokenizer != 're':
        # the BPE has no such pieces: ParlAI's HF tokenizer has them as added tokens
        tokenizer.add_special_tokens(_added(specials, special=True))
    extra = list(getattr(dictionary, 'additional_special_tokens', None) or [])
    if extra:
        tokenizer.add_tokens(_added(extra, special=False))
    for token in specials + extra:
        got = tokenizer.token_to_id(token)
        if got != dictionary.tok2ind[token]:
            raise ExportError(
                f'the token {token!r} would get id {got} in the Hugging Face tokenizer, not '
                f'ParlAI\'s {dictionary.tok2ind[token]}'
            )
    end = dictionary.end_token
    if end_token_after_input:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f'$A {end}', pair=f'$A {end} $B {end}',
            special_tokens=[(end, dictionary.tok2ind[end])],
        )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=dictionary.null_token,
        bos_token=dictionary.start_token,
        eos_token=end,
        unk_token=dictionary.unk_token,
        clean_up_tokenization_spaces=False,  # ParlAI's decoding leaves the spaces as they are
    )
    if dictionary.tokenizer == 're':
        # HF registers pad/bos/eos/unk as added special tokens; matched inside a word, ParlAI's
        # \w+ would not cut them out: they must match only as whole words, as ParlAI reads them
        _whole_words_only(fast, specials)
    return fast


def _whole_words_only(fast, tokens):
    from tokenizers import AddedToken

    backend = fast.backend_tokenizer
    backend.add_special_tokens([
        AddedToken(t, single_word=True, lstrip=False, rstrip=False, normalized=True,
                   special=True)
        for t in tokens
    ])
