"""
SODA teachers (Kim et al., SODA: Million-scale Dialogue Distillation, 2022), streamed.

* ``soda``: next-utterance generation in COSMO's input format (§4), one example per utterance of
  every dialogue, from the perspective of whoever speaks it::

      narrative <sep> Imagine you are {speaker} and speak to {listener} <sep> u1 <turn> u2 ...

  -> the next utterance. ``--cosmo-drop-narrative`` (0.3) and ``--cosmo-drop-instruction`` (0.5)
  drop the two parts in training only.
* ``soda:dialogue``: plain multi-turn episodes with ParlAI's usual history, for mixing SODA into
  dialogue training: one episode per speaker of each dialogue, in which the model is that speaker;
  each of the speaker's turns is a label and the text is what the others said since the speaker's
  previous turn (newline-joined), ``__SILENCE__`` when nobody did (the speaker opens the dialogue
  or speaks twice in a row). For SODA's two-speaker dialogues this is DailyDialog's convention in
  ParlAI: two episodes per dialogue, every utterance a label exactly once.

**Who is spoken to** (``{listener}``): the speaker of the nearest earlier turn by someone else
(the person being answered); for the opening turn(s), the first later speaker who is someone else
(the person who answers). SODA removed dialogues with more than two participants (§3.1), so for
almost all rows this is simply "the other one"; when the ``speakers`` column names more than two,
this picks the one being replied to. A row with a single speaker name has no one to speak to: its
examples carry no instruction.

Every message keeps the row's fields: ``head``, ``relation``, ``tail``, ``literal``, ``narrative``,
``speakers``, ``PersonX``/``PersonY``/``PersonZ``, ``original_index``, ``split``, ``head_answer``,
``pmi_head_answer``, ``relation_tail_answer``, ``pmi_relation_tail_answer``; plus ``speaker``,
``listener`` (``soda`` only), ``turn_index`` and ``soda_row`` (the row in the file, from 0).

``--soda-validated head`` keeps only rows whose head validation says "Yes", ``head_relation_tail``
only rows whose head *and* relation-tail validations do (App. B.1: the 1,003,595 dialogues "fully
encapsulating the seed commonsense knowledge"); ``--soda-validation-answers pmi`` uses the PMI
answers (``pmi_head_answer``, ``pmi_relation_tail_answer``) instead of the plain ones. The paper
does not say which of the two it counted; Table 10 has the plain answers a little more accurate,
so they are the default.

Streaming (``ChunkTeacher``): chunks are parquet row groups (``data.py``), in random order with
their examples shuffled in training, in file order in valid/test. Memory holds about two chunks
and ParlAI's sample buffer, whatever the corpus size. The counts come from the cached index.

Workers (``multiprocessing_train``): ParlAI's ``ChunkTeacher`` gives every worker *all* training
examples; here each worker keeps only the rows whose number ``% world_size == rank``, so the
workers' shares are disjoint and together the whole file (each worker still reads every chunk,
which costs arrow decoding, not Python). ``num_examples()`` stays the full count, as ParlAI's
epoch accounting expects (it sums the workers' fractions). Under ``--global-batchsize`` (the COSMO
presets) every worker reads the whole stream instead, as one process does, and trains on its own
slots of each global batch (``parlai_prosocial.exact_workers``). In valid/test ParlAI's own split
applies unchanged: every worker reads the chunks in the same order and keeps every ``world_size``-th
example (episode, for ``soda:dialogue``).

Drops are decided per (seed, chunk, pass over the data) by a numpy generator drawing one number per
utterance of the chunk's unfiltered rows, so they do not depend on the chunk order, the shuffling,
the filters or the number of workers, and differ from one pass to the next.
"""

import copy
import os
import random

import numpy as np
import pyarrow.compute as pc
from parlai.core.message import Message
from parlai.core.teachers import ChunkTeacher
from parlai.utils.data import DatatypeHelper

from parlai_prosocial.parlai_internals import check_relied_on
from parlai_prosocial.data_files import create_agents  # noqa: F401 (see there)
from parlai_prosocial.our_names import unknown_teachers
from parlai_prosocial.data_files import (
    Anomalies,
    add_data_arguments,
    check_splits,
    positive_int_option_type,
)
from parlai_prosocial.formats import COSMO_MARKERS, cosmo_input, cosmo_instruction, escape_markers

from .build import CACHE_DIR_ENV, cache_dir, data_dir, datafile
from .cosmo_format import add_cosmo_format_args, drop_rates
from .data import (
    ANSWERS,
    COLUMNS,
    DEFAULT_CHUNK_ROWS,
    FILTERS,
    VALIDATED,
    SodaDataError,
    chunk_rows_as_python,
    filter_key,
    keep_mask,
    load_index,
    read_chunk,
    split_path,
    totals,
)

SILENCE = '__SILENCE__'


def chunk_rows_of(opt):
    value = opt.get('soda_chunk_rows')
    return DEFAULT_CHUNK_ROWS if value is None else positive_int_option_type('--soda-chunk-rows')(
        value
    )


def index_anomalies(index, path):
    """
    The index's anomaly counts as :class:`~parlai_prosocial.data_files.Anomalies` (rows named as in errors).
    """
    anomalies = Anomalies()
    for kind, (count, rows) in index.get('anomalies', {}).items():
        anomalies.merge(kind, count, [f'{path}: row {row}' for row in rows])
    return anomalies


def check_files(opt, own_index):
    """
    The split in use is already indexed (``own_index``); under ``train_model`` valid and test are
    indexed (so checked) too.
    """
    own_path = datafile(opt)

    def anomalies_of(path):
        index = own_index if path == own_path else load_index(
            path, cache_dir(opt), chunk_rows_of(opt)
        )
        return index_anomalies(index, path)

    check_splits(
        opt, 'soda', lambda split: [split_path(data_dir(opt), split)], anomalies_of, SodaDataError
    )
_METADATA = [name for name in COLUMNS if name != 'dialogue']


def listener_of(speakers, turn):
    """
    Whom the speaker of ``turn`` speaks to (see the module docstring), or None.
    """
    me = speakers[turn]
    for j in range(turn - 1, -1, -1):
        if speakers[j] != me:
            return speakers[j]
    for j in range(turn + 1, len(speakers)):
        if speakers[j] != me:
            return speakers[j]
    return None


def speaker_episodes(dialogue, speakers):
    """
    [(speaker, [(text, turn), ...])]: one episode per speaker, in order of first appearance.
    """
    episodes = []
    for me in dict.fromkeys(speakers):
        entries = []
        pending = []
        for turn, (utterance, who) in enumerate(zip(dialogue, speakers)):
            if who == me:
                entries.append(('\n'.join(pending) or SILENCE, turn))
                pending = []
            else:
                pending.append(utterance)
        episodes.append((me, entries))
    return episodes


class _LoadFailure:
    """
    An error raised while loading a chunk in ParlAI's loader thread, carried to the main thread.
    """

    def __init__(self, error):
        self.error = error


# SodaTeacher._process_data re-implements ChunkTeacher's, with its queue protocol
check_relied_on('parlai.core.teachers:ChunkTeacher._process_data')


class SodaTeacher(ChunkTeacher):
    """
    COSMO next-utterance generation on SODA; every example is its own episode.
    """

    @classmethod
    def add_cmdline_args(cls, parser, partial_opt=None):
        super().add_cmdline_args(parser, partial_opt)
        group = parser.add_argument_group('SODA')
        add_data_arguments(group, 'soda', '{train,valid,test}.parquet (HF allenai/soda)')
        group.add_argument(
            '--soda-cache-dir',
            type=str,
            default=os.environ.get(CACHE_DIR_ENV),
            help='where the index of each file (and a re-chunked copy of files with huge row '
            'groups) is kept; default: $' + CACHE_DIR_ENV + ', else {datapath}/soda/cache',
        )
        group.add_argument(
            '--soda-validated',
            choices=VALIDATED,
            default='all',
            help='all: every row; head: rows whose head validation says Yes; '
            'head_relation_tail: rows whose head and relation-tail validations say Yes '
            '(SODA App. B.1)',
        )
        group.add_argument(
            '--soda-validation-answers',
            choices=ANSWERS,
            default='plain',
            help='plain: head_answer / relation_tail_answer; pmi: pmi_head_answer / '
            'pmi_relation_tail_answer',
        )
        group.add_argument(
            '--soda-chunk-rows',
            type=positive_int_option_type('--soda-chunk-rows'),
            default=DEFAULT_CHUNK_ROWS,
            help='rows per chunk when a file\'s row groups are too big to be chunks (more than '
            'twice this) and are copied into smaller ones',
        )
        add_cosmo_format_args(parser)
        return parser

    def __init__(self, opt, shared=None):
        opt = copy.deepcopy(opt)
        self.id = 'soda'
        self.soda_path = datafile(opt)
        if shared is None:
            # footer checks, then the index (built by one streamed pass the first time): bad data
            # fails here, before any training
            self.soda_index = load_index(self.soda_path, cache_dir(opt), chunk_rows_of(opt))
            check_files(opt, self.soda_index)
        else:
            self.soda_index = shared['soda_index']
        self.filter_key = filter_key(
            opt.get('soda_validated') or 'all', opt.get('soda_validation_answers') or 'plain'
        )
        self.filter_columns = FILTERS[self.filter_key]
        self.drop_narrative, self.drop_instruction = drop_rates(opt)
        self.drop_seed = int(opt.get('cosmo_drop_seed') or 0) % (1 << 32)
        world_size = int(opt.get('distributed_world_size') or 1)
        # ParlAI splits valid/test between workers itself, but gives each training worker all
        # the data: split the training rows here
        self.row_shard = (
            (int(opt.get('rank') or 0), world_size)
            if world_size > 1 and DatatypeHelper.is_training(opt['datatype'])
            else None
        )
        if totals(self.soda_index, self.filter_key)[0] == 0:
            raise SodaDataError(
                f'{self.soda_path}: no rows left after --soda-validated '
                f'{opt.get("soda_validated")} (--soda-validation-answers '
                f'{opt.get("soda_validation_answers")})'
            )
        self._cycle = 0
        self._cycle_reset_value = None
        # training order: ChunkTeacher shuffles chunks and the examples of each chunk with
        # unseeded generators; with --seed S (train_model) both follow S instead
        self.order_seed = opt.get('seed')
        self._served = {}
        super().__init__(opt, shared)

    def share(self):
        shared = super().share()
        shared['soda_index'] = self.soda_index
        return shared

    def _get_data_folder(self):
        return self.soda_path

    # --- sizes ---------------------------------------------------------------------------------

    def get_num_samples(self, opt):
        rows, utterances, speaker_episodes = totals(self.soda_index, self.filter_key)
        return utterances, utterances

    def get_fold_chunks(self, opt):
        return [
            i
            for i, chunk in enumerate(self.soda_index['chunks'])
            if chunk['counts'][self.filter_key][0] > 0
        ]

    # --- loading -------------------------------------------------------------------------------

    def _enqueue_chunks(self):
        # as ChunkTeacher's, but each chunk goes with its pass number since the last reset, which
        # keys the drop decisions
        reset_cnt = self.reset_counter.value()
        if reset_cnt != self._cycle_reset_value:
            self._cycle_reset_value = reset_cnt
            self._cycle = 0
        else:
            self._cycle += 1
        if DatatypeHelper.should_shuffle(self.datatype):
            if self.order_seed is not None and not getattr(self, '_rng_seeded', False):
                self.rng = random.Random(f'soda chunks|{self.order_seed}')
                self._rng_seeded = True
            self.rng.shuffle(self.fold_chunks)
        for chunk_idx in self.fold_chunks:
            self.chunks.put(((chunk_idx, self._cycle), reset_cnt))
        # ChunkTeacher's end-of-data markers (two: see "gross hack" there)
        self.chunks.put((None, reset_cnt))
        self.chunks.put((None, reset_cnt))

    def get_chunk(self):
        try:
            empty = 0
            while True:
                output, reset_cnt = super().get_chunk()
                if output and self.order_seed is not None:
                    self._reshuffle_seeded(output)
                if output is None or output:
                    return output, reset_cnt
                # every row of the chunk filtered out or another worker's: take the next one
                empty += 1
                if empty > len(self.fold_chunks) + 1:
                    raise SodaDataError(
                        f'{self.soda_path}: no examples for this worker (rank '
                        f'{self.row_shard[0] if self.row_shard else 0})'
                    )
        except Exception as error:  # noqa: BLE001 - carried to the main thread, raised there
            return [_LoadFailure(error)], self.reset_counter.value()

    def _reshuffle_seeded(self, items):
        """
        ChunkTeacher has just shuffled the examples of a training chunk with an unseeded
        generator: put them back in file order, then shuffle them under --seed, the chunk and how
        many times it was served, so each pass differs and every run repeats.
        """
        if not DatatypeHelper.should_shuffle(self.datatype):
            return
        items.sort(key=lambda item: (item[0]['_row'], item[1]))
        first_row = items[0][0]['_row']
        served = self._served[first_row] = self._served.get(first_row, -1) + 1
        random.Random(f'soda examples|{self.order_seed}|{first_row}|{served}').shuffle(items)

    def _process_data(self, output):
        """
        ChunkTeacher's, with two changes: a load failure goes to the queue of every worker and
        stops the loading; and the chunk is consumed from its end (ChunkTeacher's ``pop(0)``
        makes putting a chunk of n examples on the queue cost O(n^2) and took most of the time).
        """
        if output is None:
            return
        chunk_output, chunk_reset_cnt = output
        if chunk_output and isinstance(chunk_output[0], _LoadFailure):
            self.samples.put((chunk_output[0], chunk_reset_cnt))
            return
        if chunk_output is None:
            self.samples.put((None, chunk_reset_cnt))
            return
        if self.threading:
            chunk_output.reverse()
            while chunk_output:
                sample = chunk_output.pop()
                if (
                    self.is_train
                    or self.tot_samples_loaded[chunk_reset_cnt] % self.dws == self.rank
                ):
                    self.samples.put((sample, chunk_reset_cnt))
                self.tot_samples_loaded[chunk_reset_cnt] += 1
            self._enqueue_request()
        else:
            self.samples.queue.extend((item, chunk_reset_cnt) for item in chunk_output)
            self.tot_samples_loaded[chunk_reset_cnt] += len(chunk_output)

    def load_from_chunk(self, chunk):
        chunk_idx, cycle = chunk if isinstance(chunk, tuple) else (chunk, 0)
        info = self.soda_index['chunks'][chunk_idx]
        table = read_chunk(self.soda_index, chunk_idx)
        first_row = info['first_row']
        keep = keep_mask(table, self.filter_columns)
        if self.row_shard is not None:
            rank, world_size = self.row_shard
            keep &= (first_row + np.arange(table.num_rows)) % world_size == rank
        positions = np.flatnonzero(keep)
        rows = chunk_rows_as_python(table, first_row, positions, self.soda_path)
        drops = self._drops(table, chunk_idx, cycle, positions)
        return self.chunk_items(rows, drops)

    def _drops(self, table, chunk_idx, cycle, positions):
        """
        Per kept row, (narrative drops, instruction drops): one flag per utterance; None when
        nothing is dropped.
        """
        if not (self.drop_narrative or self.drop_instruction):
            return None
        lengths = pc.list_value_length(table.column('dialogue')).to_numpy()
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        rng = np.random.default_rng([self.drop_seed, chunk_idx, cycle])
        draws = rng.random((2, int(offsets[-1])))
        narrative = draws[0] < self.drop_narrative
        instruction = draws[1] < self.drop_instruction
        return [
            (
                narrative[offsets[p] : offsets[p + 1]].tolist(),
                instruction[offsets[p] : offsets[p + 1]].tolist(),
            )
            for p in positions
        ]

    def chunk_items(self, rows, drops):
        items = []
        for i, row in enumerate(rows):
            row['_fields'] = self._fields(row)  # once per row, not per message
            flags = drops[i] if drops is not None else None
            for turn in range(len(row['dialogue'])):
                if flags is None:
                    items.append((row, turn, False, False))
                else:
                    items.append((row, turn, flags[0][turn], flags[1][turn]))
        return items

    # --- messages ------------------------------------------------------------------------------

    @staticmethod
    def _fields(row):
        fields = {name: row[name] for name in _METADATA}
        fields['soda_row'] = row['_row']
        return fields

    def create_message(self, queue_output, entry_idx=0):
        if isinstance(queue_output, _LoadFailure):
            raise queue_output.error
        row, turn, drop_narrative, drop_instruction = queue_output
        speakers = row['speakers']
        speaker = speakers[turn]
        listener = listener_of(speakers, turn)
        # COSMO's separators inside the data would read as turn or part boundaries: escaped
        narrative = '' if drop_narrative else escape_markers(row['narrative'], COSMO_MARKERS)
        instruction = (
            '' if drop_instruction or listener is None else cosmo_instruction(speaker, listener)
        )
        history = [escape_markers(u, COSMO_MARKERS) for u in row['dialogue'][:turn]]
        message = Message(row['_fields'])
        message.update(
            {
                'text': cosmo_input(narrative, instruction, history),
                'labels': [escape_markers(row['dialogue'][turn], COSMO_MARKERS)],
                'episode_done': True,
                'speaker': speaker,
                'listener': listener,
                'turn_index': turn,
            }
        )
        return message


class DialogueTeacher(SodaTeacher):
    """
    Plain multi-turn SODA episodes (ParlAI's usual history), one per speaker of each dialogue.
    """

    def get_num_samples(self, opt):
        rows, utterances, speaker_episodes = totals(self.soda_index, self.filter_key)
        return utterances, speaker_episodes

    def _drops(self, table, chunk_idx, cycle, positions):
        return None  # no narrative or instruction here

    def chunk_items(self, rows, drops):
        items = []
        for row in rows:
            row['_fields'] = self._fields(row)
            for speaker, entries in speaker_episodes(row['dialogue'], row['speakers']):
                items.append((row, speaker, entries))
        return items

    def create_message(self, queue_output, entry_idx=0):
        if isinstance(queue_output, _LoadFailure):
            raise queue_output.error
        row, speaker, entries = queue_output
        text, turn = entries[entry_idx]
        message = Message(row['_fields'])
        message.update(
            {
                'text': text,
                'labels': [row['dialogue'][turn]],
                'episode_done': entry_idx == len(entries) - 1,
                'speaker': speaker,
                'turn_index': turn,
            }
        )
        return message


class DefaultTeacher(SodaTeacher):
    pass


# -t soda:NOSUCH is one line listing the teachers (ParlAI's loader asks this module)
__getattr__ = unknown_teachers(__name__)
