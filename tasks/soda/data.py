"""
Reading SODA's parquet files in bounded memory: schema checks, a cached index, chunks of rows.

The files are HF ``allenai/soda``'s ``{train,valid,test}.parquet``, one row per dialogue with the
columns of the dataset card (``COLUMNS``). 1.5M dialogues and 11M utterances must not be held in
memory at once, so the teachers stream *chunks* of rows (ParlAI's ``ChunkTeacher``):

* **Chunks are parquet row groups.** A file whose row groups all have at most ``2 * chunk_rows``
  rows is read row group by row group. A file with larger row groups (the released files appear
  to be one row group each: the HF viewer reports a 688,760,452-byte scan for ``train.parquet``)
  cannot be read in parts, because parquet cannot seek to a row inside a row group; it is copied
  once, streamed batch by batch, into a file of ``chunk_rows``-row row groups in the cache
  directory (same columns, same row order; about as large as the source).
* **The index** (a JSON sidecar in the cache directory) holds, for every chunk, its row group, its
  first row, its number of rows, and how many rows, utterances and speaker-episodes it has under
  each validation filter. ParlAI needs these counts before it reads anything; parquet metadata
  only gives rows, so the utterance counts take one streamed pass over the file, done on first use
  and cached. The index records the source file's size and mtime (and the copy's): if either
  changed it is rebuilt, never used stale; a teacher also refuses to read a chunk if the source
  changed after the index was read.
* **Bad data** is reported as a :class:`SodaDataError` naming the file, the row (counting from 0,
  as ``pyarrow.parquet.read_table(path).slice(row, 1)``) and the field. A missing file, a file that
  is not parquet, a missing column or a column of the wrong type are found from the parquet footer
  whenever a teacher is created; null required fields, null utterances or names, an empty
  dialogue and ``dialogue``/``speakers`` of different lengths are found by the indexing pass (so
  also when a teacher is created, before training) and checked again on every row read. A file
  with no rows, a data page that cannot be decoded and a cache directory that cannot be created
  are errors naming the file.
* **Soft anomalies** (what may be in the real release but looks wrong: an empty or
  whitespace-only utterance, COSMO's separators ``<sep>`` / ``<turn>`` inside an utterance or a
  narrative, an answer column holding neither Yes, No nor Unknown, which the validation filters
  read as not Yes) are counted by the indexing pass with the first rows where they occur
  (``index['anomalies']``); the teachers report them in one line (``--soda-anomalies error``
  stops on them) and escape the separators in what they build.
"""

import fcntl
import hashlib
import json
import os
from collections import OrderedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from parlai_prosocial import errors
from parlai_prosocial.formats import COSMO_MARKERS  # inside a text: an anomaly, escaped in examples

SPLIT_FILES = {'train': 'train.parquet', 'valid': 'valid.parquet', 'test': 'test.parquet'}

STR = 'a string'
STR_OR_NULL = 'a string or null'
STR_LIST = 'a list of strings'
INT = 'an integer'

#: The dataset card's fields, in its order, with their types.
COLUMNS = OrderedDict(
    [
        ('head', STR),
        ('relation', STR),
        ('tail', STR),
        ('literal', STR),
        ('narrative', STR),
        ('dialogue', STR_LIST),
        ('speakers', STR_LIST),
        ('PersonX', STR),
        ('PersonY', STR_OR_NULL),
        ('PersonZ', STR_OR_NULL),
        ('original_index', INT),
        ('split', STR),
        ('head_answer', STR),
        ('pmi_head_answer', STR),
        ('relation_tail_answer', STR),
        ('pmi_relation_tail_answer', STR),
    ]
)

#: Fields without which a row makes no example; the others are passed on as they are (null: None).
REQUIRED = ('narrative', 'dialogue', 'speakers')

_ARROW_TYPES = {
    STR: pa.string(),
    STR_OR_NULL: pa.string(),
    STR_LIST: pa.list_(pa.string()),
    INT: pa.int64(),
}

#: The arrow schema the HF files are written in (``datasets`` writes ``string``,
#: ``list<item: string>`` and ``int64``); the readers also accept large strings and lists.
SCHEMA = pa.schema([pa.field(name, _ARROW_TYPES[kind]) for name, kind in COLUMNS.items()])

#: Validation filters (SODA App. B.1): which answer columns must say "Yes".
VALIDATED = ('all', 'head', 'head_relation_tail')
ANSWERS = ('plain', 'pmi')

#: the answer columns the filters read, and the values the card gives them (compared trimmed,
#: in any case); any other value, or null, is read as not "Yes" and counted as an anomaly
ANSWER_COLUMNS = ('head_answer', 'pmi_head_answer', 'relation_tail_answer',
                  'pmi_relation_tail_answer')
ANSWER_VALUES = ('yes', 'no', 'unknown')

DEFAULT_CHUNK_ROWS = 10000
INDEX_VERSION = 3  # 3: unknown answer values counted as anomalies

#: how many row numbers the index keeps per anomaly kind
FIRST_ANOMALY_ROWS = 3
#: read buffer for streaming a big row group page by page instead of whole column chunks
_READ_BUFFER = 1 << 22


class SodaDataError(errors.ProsocialDataError):
    """
    A SODA file that cannot be read as it is.
    """


def split_path(data_dir, split):
    return os.path.join(data_dir, SPLIT_FILES[split])


def answer_columns(validated='all', answers='plain'):
    """
    The columns that must say "Yes" for a row to be kept.
    """
    # from an opt file, a value argparse never checked
    if validated not in VALIDATED:
        raise errors.ProsocialOptionError(
            f'--soda-validated is {validated!r}: expected one of {", ".join(VALIDATED)}'
        )
    if answers not in ANSWERS:
        raise errors.ProsocialOptionError(
            f'--soda-validation-answers is {answers!r}: expected one of {", ".join(ANSWERS)}'
        )
    prefix = 'pmi_' if answers == 'pmi' else ''
    columns = []
    if validated in ('head', 'head_relation_tail'):
        columns.append(prefix + 'head_answer')
    if validated == 'head_relation_tail':
        columns.append(prefix + 'relation_tail_answer')
    return columns


def filter_key(validated='all', answers='plain'):
    answer_columns(validated, answers)  # checks the names
    return 'all' if validated == 'all' else f'{answers}:{validated}'


#: every filter the index counts for: key -> answer columns
FILTERS = OrderedDict(
    (filter_key(v, a), answer_columns(v, a))
    for v in VALIDATED
    for a in ANSWERS
    if v != 'all' or a == 'plain'
)


def says_yes(value):
    """
    Whether one answer value says yes (the card's values are Yes / No / Unknown).
    """
    return isinstance(value, str) and value.strip().lower() == 'yes'


def _is_string(t):
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _kind_matches(kind, t):
    if kind in (STR, STR_OR_NULL):
        return _is_string(t)
    if kind == STR_LIST:
        return (pa.types.is_list(t) or pa.types.is_large_list(t)) and _is_string(t.value_type)
    return pa.types.is_integer(t)


def open_soda(path, buffer_size=0):
    """
    The ``ParquetFile`` at ``path`` once its footer shows a SODA file: every column of the card,
    each of its type.
    """
    if not os.path.isfile(path):
        raise SodaDataError(f'{path}: no such file')
    try:
        parquet = pq.ParquetFile(path, buffer_size=buffer_size)
    except (pa.ArrowException, OSError) as e:
        raise SodaDataError(f'{path}: not a parquet file ({e})') from None
    schema = parquet.schema_arrow
    for name, kind in COLUMNS.items():
        if schema.get_field_index(name) < 0:
            raise SodaDataError(
                f'{path}: missing column "{name}" (a SODA file has the columns '
                f'{", ".join(COLUMNS)})'
            )
        column_type = schema.field(name).type
        if not _kind_matches(kind, column_type):
            raise SodaDataError(f'{path}: column "{name}" is {column_type}, expected {kind}')
    return parquet


# --- checks and counts over a table of rows (vectorised: the indexing pass) -------------------


def _first(mask):
    return int(np.flatnonzero(mask)[0])


def _array(table, name):
    column = table.column(name)
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def check_table(table, first_row, path):
    """
    Check the rows of ``table`` (rows ``first_row`` ... of ``path``); return the number of
    utterances of each row.
    """
    for name in REQUIRED:
        column = _array(table, name)
        if column.null_count:
            row = first_row + _first(column.is_null().to_numpy(zero_copy_only=False))
            raise SodaDataError(f'{path}: row {row}: field "{name}" is null')
    for name in ('dialogue', 'speakers'):
        column = _array(table, name)
        items = pc.list_flatten(column)
        if items.null_count:
            position = _first(items.is_null().to_numpy(zero_copy_only=False))
            row = first_row + int(pc.list_parent_indices(column)[position].as_py())
            raise SodaDataError(f'{path}: row {row}: field "{name}" holds a null, not a string')
    utterances = pc.list_value_length(_array(table, 'dialogue')).to_numpy(zero_copy_only=False)
    names = pc.list_value_length(_array(table, 'speakers')).to_numpy(zero_copy_only=False)
    if (utterances == 0).any():
        row = first_row + _first(utterances == 0)
        raise SodaDataError(f'{path}: row {row}: field "dialogue" is an empty list')
    if (utterances != names).any():
        i = _first(utterances != names)
        raise SodaDataError(
            f'{path}: row {first_row + i}: field "speakers" has {names[i]} names but field '
            f'"dialogue" has {utterances[i]} utterances; they must be aligned turn by turn'
        )
    return utterances.astype(np.int64)


def keep_mask(table, columns):
    """
    Numpy mask of the rows whose ``columns`` all say yes.
    """
    mask = np.ones(table.num_rows, dtype=bool)
    for name in columns:
        answer = pc.utf8_lower(pc.utf8_trim_whitespace(_array(table, name)))
        yes = pc.fill_null(pc.equal(answer, 'yes'), False)
        mask &= yes.to_numpy(zero_copy_only=False)
    return mask


def distinct_speakers(table):
    """
    How many different speakers each row has.
    """
    speakers = _array(table, 'speakers')
    pairs = pa.table(
        {'row': pc.list_parent_indices(speakers), 'name': pc.list_flatten(speakers)}
    ).group_by(['row', 'name']).aggregate([])
    per_row = pairs.group_by('row').aggregate([('name', 'count')])
    counts = np.zeros(table.num_rows, dtype=np.int64)
    counts[per_row['row'].to_numpy()] = per_row['name_count'].to_numpy()
    return counts


def chunk_counts(table, first_row, path):
    """
    {filter key: [rows, utterances, speaker-episodes]} of the rows of ``table``, after checking
    them.
    """
    utterances = check_table(table, first_row, path)
    episodes = distinct_speakers(table)
    counts = OrderedDict()
    for key, columns in FILTERS.items():
        mask = keep_mask(table, columns)
        counts[key] = [int(mask.sum()), int(utterances[mask].sum()), int(episodes[mask].sum())]
    return counts


def chunk_anomalies(table, first_row):
    """
    {kind: [count, [first row numbers]]} of the soft anomalies of the rows of ``table``.
    """
    found = OrderedDict()
    dialogue = _array(table, 'dialogue')
    items = pc.list_flatten(dialogue)
    parents = pc.list_parent_indices(dialogue).to_numpy(zero_copy_only=False)

    def add(kind, mask, rows_of):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            rows = np.unique(rows_of[mask])
            found[kind] = [int(mask.sum()), [first_row + int(r) for r in rows[:FIRST_ANOMALY_ROWS]]]

    empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(items)), 0)
    add('empty utterance', pc.fill_null(empty, False).to_numpy(zero_copy_only=False), parents)
    marked = np.zeros(len(items), dtype=bool)
    for marker in COSMO_MARKERS:
        marked |= pc.fill_null(pc.match_substring(items, marker), False).to_numpy(
            zero_copy_only=False
        )
    add('<sep>/<turn> inside an utterance', marked, parents)
    narrative = _array(table, 'narrative')
    marked = np.zeros(table.num_rows, dtype=bool)
    for marker in COSMO_MARKERS:
        marked |= pc.fill_null(pc.match_substring(narrative, marker), False).to_numpy(
            zero_copy_only=False
        )
    add('<sep>/<turn> inside the narrative', marked, np.arange(table.num_rows))
    for name in ANSWER_COLUMNS:
        answer = pc.utf8_lower(pc.utf8_trim_whitespace(_array(table, name)))
        known = pc.fill_null(pc.is_in(answer, pa.array(ANSWER_VALUES)), False)
        add(
            f'{name} not Yes, No or Unknown (read as not Yes)',
            ~known.to_numpy(zero_copy_only=False),
            np.arange(table.num_rows),
        )
    return found


# --- the index ----------------------------------------------------------------------------------


def _stat(path):
    st = os.stat(path)
    return {'size': st.st_size, 'mtime_ns': st.st_mtime_ns}


def cache_paths(path, cache_dir, chunk_rows):
    """
    (index, re-chunked copy, lock) paths of ``path`` in ``cache_dir``.
    """
    real = os.path.realpath(path)
    digest = hashlib.sha1(real.encode('utf-8')).hexdigest()[:16]
    stem = os.path.join(cache_dir, f'{os.path.basename(path)}.{digest}.rows{chunk_rows}')
    return stem + '.index.json', stem + '.chunks.parquet', stem + '.lock'


def _valid_index(index_path, path, chunk_rows):
    try:
        with open(index_path, encoding='utf-8') as f:
            index = json.load(f)
    except (OSError, ValueError):
        return None
    try:
        if (
            index.get('version') != INDEX_VERSION
            or index.get('source') != os.path.realpath(path)
            or index.get('source_stat') != _stat(path)
            or index.get('chunk_rows') != chunk_rows
            or list(index.get('filters', ())) != list(FILTERS)
        ):
            return None
        if index['chunk_file'] is not None and index.get('chunk_file_stat') != _stat(
            index['chunk_file']
        ):
            return None
    except (OSError, KeyError, TypeError):
        return None
    return index


def _write_json_atomically(obj, target):
    tmp = f'{target}.tmp{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(obj, f)
    os.replace(tmp, target)


def build_index(path, index_path, copy_path, chunk_rows=DEFAULT_CHUNK_ROWS):
    """
    One streamed pass over ``path``: check every row, count per chunk, and copy the rows into
    ``copy_path`` in ``chunk_rows``-row row groups if the file's own row groups are too big to be
    chunks. Writes and returns the index.
    """
    parquet = open_soda(path, buffer_size=_READ_BUFFER)
    source_stat = _stat(path)
    metadata = parquet.metadata
    rechunk = any(
        metadata.row_group(i).num_rows > 2 * chunk_rows for i in range(metadata.num_row_groups)
    )
    chunks = []
    anomalies = OrderedDict()
    first_row = 0
    writer = None
    tmp_copy = f'{copy_path}.tmp{os.getpid()}'
    try:
        if rechunk:
            writer = pq.ParquetWriter(tmp_copy, parquet.schema_arrow)
            tables = (
                (None, pa.Table.from_batches([batch]))
                for batch in parquet.iter_batches(batch_size=chunk_rows)
            )
        else:
            tables = ((i, parquet.read_row_group(i)) for i in range(metadata.num_row_groups))
        for row_group, table in _readable(tables, path):
            counts = chunk_counts(table, first_row, path)
            for kind, (count, rows) in chunk_anomalies(table, first_row).items():
                total = anomalies.setdefault(kind, [0, []])
                total[0] += count
                total[1] = (total[1] + rows)[:FIRST_ANOMALY_ROWS]
            if writer is not None:
                row_group = len(chunks)
                writer.write_table(table)
            chunks.append(
                {
                    'row_group': row_group,
                    'first_row': first_row,
                    'rows': table.num_rows,
                    'counts': counts,
                }
            )
            first_row += table.num_rows
        if writer is not None:
            writer.close()
            writer = None
            written = pq.ParquetFile(tmp_copy).metadata
            if written.num_row_groups != len(chunks) or any(
                written.row_group(c['row_group']).num_rows != c['rows'] for c in chunks
            ):
                raise RuntimeError(f'{tmp_copy}: the re-chunked copy is not laid out as indexed')
            os.replace(tmp_copy, copy_path)
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp_copy):
            os.remove(tmp_copy)
    if first_row != metadata.num_rows:
        raise SodaDataError(f'{path}: read {first_row} rows, the footer says {metadata.num_rows}')
    index = {
        'version': INDEX_VERSION,
        'source': os.path.realpath(path),
        'source_stat': source_stat,
        'chunk_rows': chunk_rows,
        'num_rows': first_row,
        'filters': list(FILTERS),
        'chunk_file': copy_path if rechunk else None,
        'chunk_file_stat': _stat(copy_path) if rechunk else None,
        'chunks': chunks,
        'anomalies': anomalies,
    }
    if _stat(path) != source_stat:
        raise SodaDataError(f'{path}: the file changed while it was being indexed')
    _write_json_atomically(index, index_path)
    return index


def _readable(tables, path):
    """
    ``tables`` (row group, table) as they are read, an undecodable page reported as the file's.
    """
    position = 0
    while True:
        try:
            item = next(tables)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as e:
            detail = ' '.join(str(e).split())
            raise SodaDataError(
                f'{path}: chunk {position}: cannot be read ({detail}); is the file corrupted or '
                'cut short?'
            ) from None
        position += 1
        yield item


def load_index(path, cache_dir, chunk_rows=DEFAULT_CHUNK_ROWS):
    """
    The index of ``path``: read from ``cache_dir`` if it matches the file's size and mtime,
    otherwise built (once across processes: a file lock guards the building).
    """
    parquet = open_soda(path)  # the footer checks, every time: cheap; a clear error comes first
    if parquet.metadata.num_rows == 0:
        raise SodaDataError(f'{path}: no rows in the file; expected at least one dialogue')
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise errors.ProsocialOptionError(
            f'--soda-chunk-rows is {chunk_rows!r}: expected a whole number >= 1'
        )
    index_path, copy_path, lock_path = cache_paths(path, cache_dir, chunk_rows)
    index = _valid_index(index_path, path, chunk_rows)
    if index is not None:
        return index
    try:
        os.makedirs(cache_dir, exist_ok=True)
    except OSError as e:
        raise errors.ProsocialOptionError(
            f'--soda-cache-dir {cache_dir}: cannot be used as the cache directory '
            f'({e.strerror}); expected a directory that can be written'
        ) from None
    if not os.access(cache_dir, os.W_OK):
        raise errors.ProsocialOptionError(
            f'--soda-cache-dir {cache_dir}: not writable; expected a directory that can be written'
        )
    with open(lock_path, 'w', encoding='utf-8') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        index = _valid_index(index_path, path, chunk_rows)  # built meanwhile by another process?
        if index is None:
            index = build_index(path, index_path, copy_path, chunk_rows)
    return index


def totals(index, key='all'):
    """
    (rows, utterances, speaker-episodes) of the whole file under filter ``key``.
    """
    sums = np.zeros(3, dtype=np.int64)
    for chunk in index['chunks']:
        sums += np.asarray(chunk['counts'][key], dtype=np.int64)
    return tuple(int(v) for v in sums)


# --- reading a chunk (the teachers' path) -------------------------------------------------------


def read_chunk(index, chunk_idx):
    """
    The rows of chunk ``chunk_idx`` as an arrow table; refuses if the source changed since the
    index was read.
    """
    source = index['source']
    try:
        current = _stat(source)
    except OSError:
        current = None
    if current != index['source_stat']:
        raise SodaDataError(
            f'{source}: the file changed (or disappeared) after its index was read; create the '
            'teacher again'
        )
    chunk = index['chunks'][chunk_idx]
    try:
        parquet = pq.ParquetFile(index['chunk_file'] or source)
        table = parquet.read_row_group(chunk['row_group'])
    except (pa.ArrowException, OSError) as e:
        detail = ' '.join(str(e).split())
        raise SodaDataError(
            f'{index["chunk_file"] or source}: chunk {chunk_idx}: cannot be read ({detail}); is '
            'the file corrupted?'
        ) from None
    if table.num_rows != chunk['rows']:
        raise SodaDataError(
            f'{source}: chunk {chunk_idx} has {table.num_rows} rows, its index says {chunk["rows"]}'
        )
    return table


def check_row(row, path, row_number):
    """
    The per-row checks, on a row as Python values (the read path).
    """
    where = f'{path}: row {row_number}'
    for name in ('narrative',):
        if not isinstance(row[name], str):
            raise SodaDataError(f'{where}: field "{name}" is {row[name]!r}, expected {STR}')
    for name in ('dialogue', 'speakers'):
        value = row[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SodaDataError(f'{where}: field "{name}" is {value!r}, expected {STR_LIST}')
    if not row['dialogue']:
        raise SodaDataError(f'{where}: field "dialogue" is an empty list')
    if len(row['dialogue']) != len(row['speakers']):
        raise SodaDataError(
            f'{where}: field "speakers" has {len(row["speakers"])} names but field "dialogue" '
            f'has {len(row["dialogue"])} utterances; they must be aligned turn by turn'
        )
    return row


def _python_values(array):
    """
    ``array.to_pylist()``, several times faster for strings and lists of strings (pyarrow builds
    list values one scalar at a time; numpy's object conversion does not).
    """
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        offsets = array.offsets.to_numpy()
        values = array.values.to_numpy(zero_copy_only=False)
        nulls = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
        return [
            None if nulls is not None and nulls[i] else values[offsets[i] : offsets[i + 1]].tolist()
            for i in range(len(array))
        ]
    if _is_string(array.type):
        return array.to_numpy(zero_copy_only=False).tolist()
    return array.to_pylist()


def chunk_rows_as_python(table, first_row, positions, path):
    """
    The rows at ``positions`` of a chunk table as dicts of Python values (every column of the
    card, plus ``_row``: the row number in ``path``), each checked.
    """
    if len(positions) == 0:
        return []
    taken = table.take(pa.array(positions, type=pa.int64()))
    columns = {name: _python_values(_array(taken, name)) for name in COLUMNS}
    rows = []
    for i, position in enumerate(positions):
        row = {name: values[i] for name, values in columns.items()}
        row['_row'] = first_row + int(position)
        rows.append(check_row(row, path, row['_row']))
    return rows
