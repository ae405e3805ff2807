"""
Table 3's "Response w/ gold RoT" (``-m prost --prost-gold-rots true``) and Prost's label truncation
(``--prost-label-truncation``), on tiny untrained models in this process: every row of a batch is
generated after its own gold RoTs and ``__endrots__`` (greedy and beam search), the forced prefix
is in each output, minimum length and n-gram blocking count the reply only, and the reply is
scored alone; a too long target loses RoT tokens, never its reply.
"""

import pytest
import torch

from parlai.core.agents import create_agent
from parlai.core.message import Message
from parlai.core.params import ParlaiParser

from parlai_prosocial.agents.prost.agents import truncate_target
from parlai_prosocial.formats import ROTS_END, ROTS_TEXT_FIELD, rot_response_target
from parlai_prosocial.testing.samples import prosocial_dialogues

SAMPLE = prosocial_dialogues()
TINY_ARCH = ['--n-layers', '1', '--n-heads', '2', '--embedding-size', '16', '--ffn-size', '32',
             '--dict-tokenizer', 're', '--dict-lower', 'true']

ROWS = [
    # (context, rots, reply): RoTs of different lengths, and a row without RoTs
    ('i will call 911 for fun', ['it is wrong to prank call .', 'you should be kind .'],
     'please do not do that .'),
    ('i hit my dog', ['you should be kind to animals .'], 'that is cruel .'),
    ('hello there', [], 'hi , how are you ?'),
]


def _texts():
    for dialogues in SAMPLE.values():
        for dialogue in dialogues:
            for turn in dialogue:
                yield ' '.join([turn['context'], turn['response']] + (turn['rots'] or []))
    for context, rots, reply in ROWS:
        yield ' '.join([context, reply] + rots)


def _agent(tmp_path, monkeypatch, *extra):
    monkeypatch.setenv('PARLAI_DATAPATH', str(tmp_path))
    opt = ParlaiParser(True, True).parse_args(
        ['-m', 'prost', '--datapath', str(tmp_path), '--label-truncate', '40',
         '--prost-gold-rots', 'true'] + TINY_ARCH + list(extra)
    )
    agent = create_agent(opt)
    for text in _texts():  # every word of the sample and of ROWS is known
        for token in agent.dict.tokenize(text.lower()):
            agent.dict.add_token(token)
    torch.manual_seed(0)
    agent.model = agent.build_model()
    agent.model.eval()
    return agent


def _messages():
    return [
        Message({'text': context, 'eval_labels': [rot_response_target(rots, reply) if rots
                                                  else reply], 'episode_done': True})
        for context, rots, reply in ROWS
    ]


def _saved(agent, tmp_path):
    model_file = str(tmp_path / 'model')
    agent.opt['model_file'] = model_file
    agent.save(model_file)
    return model_file


def _batch_act(agent, messages):
    clones = [agent.clone() for _ in messages]
    observations = [c.observe(m) for c, m in zip(clones, messages)]
    return agent.batch_act(observations)


def _gold_rots_text(agent, rots):
    # the RoTs as the dictionary gives them back (the re tokenizer lower-cases, splits '.')
    return agent.dict.vec2txt(agent.dict.txt2vec(' '.join(rots)))


def _bias_output(agent, token, bonus):
    """
    Make the untrained model strongly prefer ``token`` (a word or the end token) at every step.
    """
    original = agent.model.output
    index = agent.dict[token] if token != agent.dict.end_token else agent.END_IDX

    def output(tensor):
        scores = original(tensor)
        scores[..., index] += bonus
        return scores

    agent.model.output = output


# --- the forced prefix --------------------------------------------------------------------------


@pytest.mark.parametrize('inference', [['--inference', 'greedy'],
                                       ['--inference', 'beam', '--beam-size', '3']])
def test_each_row_is_generated_after_its_own_gold_rots(inference, tmp_path, monkeypatch):
    agent = _agent(tmp_path, monkeypatch, *inference)
    replies = _batch_act(agent, _messages())
    for reply, (_, rots, _) in zip(replies[:2], ROWS[:2]):
        assert reply[ROTS_TEXT_FIELD] == _gold_rots_text(agent, rots)
        assert ROTS_END not in reply['text']
    # one row at a time gives the same: nothing leaks between rows
    for message, batched in zip(_messages(), replies):
        alone = _batch_act(agent, [message])[0]
        assert (alone['text'], alone[ROTS_TEXT_FIELD]) == (batched['text'],
                                                           batched[ROTS_TEXT_FIELD])
    if '--beam-size' in inference:
        # every beam finishes (the model wants to stop; 3 reply tokens at least), so all are kept
        agent = _agent(tmp_path, monkeypatch, *inference, '--beam-min-length', '3')
        _bias_output(agent, agent.dict.end_token, 1000.0)
        replies = _batch_act(agent, _messages())
        for reply, (_, rots, _) in zip(replies[:2], ROWS[:2]):
            assert len(reply['beam_texts']) == 3
            assert reply['beam_rots_texts'] == [_gold_rots_text(agent, rots)] * 3
            assert len({text for text, _ in reply['beam_texts']}) == 3  # the beams differ


def test_a_row_without_gold_rots_is_generated_as_usual(tmp_path, monkeypatch):
    agent = _agent(tmp_path, monkeypatch, '--inference', 'beam', '--beam-size', '2')
    with_gold = _batch_act(agent, _messages())[2]
    agent.opt['prost_gold_rots'] = False
    plain = _batch_act(agent, _messages())[2]
    assert (with_gold['text'], with_gold[ROTS_TEXT_FIELD]) == (plain['text'],
                                                               plain[ROTS_TEXT_FIELD])


def test_without_the_option_the_rots_are_generated(tmp_path, monkeypatch):
    agent = _agent(tmp_path, monkeypatch)
    agent.opt['prost_gold_rots'] = False
    replies = _batch_act(agent, _messages())
    # the untrained model does not write the gold RoTs by itself
    assert replies[0][ROTS_TEXT_FIELD] != _gold_rots_text(agent, ROWS[0][1])


def test_min_length_counts_the_reply_only(tmp_path, monkeypatch):
    agent = _agent(tmp_path, monkeypatch, '--inference', 'beam', '--beam-size', '2',
                   '--beam-min-length', '4')
    _bias_output(agent, agent.dict.end_token, 1000.0)  # the model wants to stop at once
    replies = _batch_act(agent, _messages())
    for reply, (_, rots, _) in zip(replies[:2], ROWS[:2]):
        assert reply[ROTS_TEXT_FIELD] == _gold_rots_text(agent, rots)
        # the prefix (10+ tokens) does not count: the reply itself has the minimum length
        assert len(agent.dict.txt2vec(reply['text'])) == 4, reply['text']


def test_ngram_blocking_counts_the_reply_only(tmp_path, monkeypatch):
    # "kind" is in the forced RoTs of rows 0 and 1; the model wants it at every step
    agent = _agent(tmp_path, monkeypatch, '--inference', 'beam', '--beam-size', '2',
                   '--beam-block-ngram', '1', '--label-truncate', '30')
    _bias_output(agent, 'kind', 1000.0)
    replies = _batch_act(agent, _messages())
    for reply, (_, rots, _) in zip(replies[:2], ROWS[:2]):
        assert reply[ROTS_TEXT_FIELD] == _gold_rots_text(agent, rots)  # never blocked
        words = reply['text'].split()
        assert words[0] == 'kind'  # not blocked by the RoTs' "kind"
        assert words.count('kind') == 1  # but blocked after its first use in the reply


def test_eval_model_scores_the_reply_after_gold_rots(tmp_path, monkeypatch, sample_data_dir):
    """
    ``parlai eval_model -t prosocial:rot_response --prost-gold-rots true`` end to end (in this
    process, batch size 3, beam search): the RoTs are the gold ones on every turn that has them
    (``rot_f1`` 1), the reply is scored (``f1``, ``bleu-4``).
    """
    from parlai.scripts.eval_model import EvalModel

    model_file = _saved(_agent(tmp_path, monkeypatch), tmp_path)
    monkeypatch.setenv('PROSOCIAL_DATA_DIR', sample_data_dir)
    report = EvalModel.main(
        model_file=model_file, task='prosocial:rot_response', datatype='valid',
        batchsize=3, inference='beam', beam_size=2, prost_gold_rots=True,
        skip_generation=False, datapath=str(tmp_path),
    )
    assert report['rot_f1'] == 1.0
    assert 'f1' in report and 'bleu-4' in report and report['exs'] > 0


# --- label truncation ---------------------------------------------------------------------------


def test_truncate_target_keeps_the_reply():
    end = 99
    vec = [1, 2, 3, 4, 5, end, 6, 7, 2]  # RoTs 1-5, __endrots__, reply 6 7, end token 2
    assert truncate_target(vec, 20, end) == vec
    assert truncate_target(vec, 6, end) == [1, 2, end, 6, 7, 2]
    assert truncate_target(vec, 4, end) == [end, 6, 7, 2]
    assert truncate_target(vec, 3, end) == [end, 6, 7]  # a reply too long by itself: cut at the end
    assert truncate_target(vec, 6, end, mode='end') == [1, 2, 3, 4, 5, end]
    assert truncate_target([6, 7, 8, 2], 3, end) == [6, 7, 8]  # no RoTs: ParlAI's rule


def test_a_long_target_loses_rots_not_its_reply(tmp_path, monkeypatch):
    agent = _agent(tmp_path, monkeypatch, '--label-truncate', '12')
    rots = ['it is wrong to prank call .', 'you should be kind to animals .']
    target = rot_response_target(rots, 'please do not do that .')
    observation = agent.observe(Message({'text': 'hi', 'labels': [target], 'episode_done': True}))
    kept = agent.dict.vec2txt(observation['labels_vec'].tolist())
    assert kept.endswith(f'{ROTS_END} please do not do that . __end__')
    assert len(observation['labels_vec']) == 12 and observation['label_truncate_rate']
    agent.reset()
    agent.opt['prost_label_truncation'] = 'end'
    observation = agent.observe(Message({'text': 'hi', 'labels': [target], 'episode_done': True}))
    assert ROTS_END not in agent.dict.vec2txt(observation['labels_vec'].tolist())


def test_min_length_counts_the_reply_of_generated_rots_too(tmp_path, monkeypatch):
    """
    Without gold RoTs: the model writes ``__endrots__`` first, then wants to stop; the minimum
    length applies to the reply after it (ParlAI's rule would count ``__endrots__`` as well).
    """
    agent = _agent(tmp_path, monkeypatch, '--inference', 'beam', '--beam-size', '2',
                   '--beam-min-length', '4')
    agent.opt['prost_gold_rots'] = False
    original = agent.model.output
    steps = []

    def output(tensor):
        scores = original(tensor)
        token = agent.dict[ROTS_END] if not steps else agent.END_IDX
        scores[..., token] += 1000.0
        steps.append(token)
        return scores

    agent.model.output = output
    chat = [Message({'text': ROWS[0][0], 'episode_done': True})]  # no label: no loss pass first
    reply = _batch_act(agent, chat)[0]
    assert steps[0] == agent.dict[ROTS_END] and reply[ROTS_TEXT_FIELD] == ''
    assert len(agent.dict.txt2vec(reply['text'])) == 4, reply['text']
    agent.opt['prost_reply_search'] = False  # ParlAI's rule: __endrots__ counts
    steps.clear()
    reply = _batch_act(agent, chat)[0]
    assert reply[ROTS_TEXT_FIELD] == ''
    assert len(agent.dict.txt2vec(reply['text'])) == 3, reply['text']


def test_truncation_count_on_the_sample(tmp_path, sample_data_dir):
    """
    ``python -m parlai_prosocial.agents.prost.truncation``: on the sample, with word-like tokens,
    a limit of 20 cuts replies under ParlAI's rule and (almost) never under Prost's; 128 cuts none.
    """
    from parlai_prosocial.agents.prost.truncation import CountTruncation

    def run(limit):
        return CountTruncation.main(
            prosocial_data_dir=sample_data_dir, dict_tokenizer='re', label_truncate=limit,
            datapath=str(tmp_path), json=True,
        )

    short = run(20)
    assert [short[s]['targets'] for s in ('train', 'valid', 'test')] == [8, 2, 1]
    for split, c in short.items():
        assert c['reply_cut_rots'] <= c['reply_cut_end'] <= c['longer'] <= c['targets']
    assert short['train']['reply_cut_end'] == 5
    # the one train reply cut by Prost's rule is longer than 20 tokens by itself
    assert short['train']['reply_cut_rots'] == 1
    assert all(c['longer'] == 0 for c in run(128).values())


# --- decoding presets ---------------------------------------------------------------------------


def test_decoding_presets(tmp_path, monkeypatch):
    from parlai.core.opt import Opt
    from parlai.scripts.eval_model import setup_args

    blenderbot = dict(inference='beam', beam_size=10, beam_min_length=20, beam_block_ngram=3,
                      beam_context_block_ngram=3, beam_length_penalty=0.65)
    for name in ('prost', 'prost_response_only'):  # saved into model.opt: eval and chat default
        preset = Opt.load_init(f'prosocial/{name}')
        assert {k: preset[k] for k in blenderbot} == blenderbot
        assert preset['skip_generation'] is True  # training validates on ppl only
    assert dict(Opt.load_init('prosocial/prost_decoding')) == dict(blenderbot,
                                                                  skip_generation=False)
    model_file = _saved(_agent(tmp_path, monkeypatch), tmp_path)
    for name, expected in (('prost_decoding', ('beam', 10, 20)),
                           ('prost_decoding_greedy', ('greedy', 1, 1))):
        opt = setup_args().parse_args(['-mf', model_file, '-o', f'prosocial/{name}',
                                       '--datapath', str(tmp_path)])
        loaded = create_agent(opt)
        assert (loaded.opt['inference'], loaded.beam_size, loaded.beam_min_length) == expected
        assert loaded.skip_generation is False
