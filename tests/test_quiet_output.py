"""
No misleading or useless message on the way (issue 18 §5): building the dictionary of a weighted
mixture does not say its weights are ignored; transformers' tokenizer messages that every T5 run
printed are filtered, exactly those, on their logger.
"""

import logging

from parlai_prosocial import testing
from parlai_prosocial.known_noise import KNOWN_LOG_NOISE, run_noise_quieted


def test_the_dictionary_of_a_weighted_mixture_is_built_without_the_weights_warning(
    tmp_path, sample_data_dir, parlai_warnings
):
    dict_file = tmp_path / 'dict'
    testing.parlai_in_process(
        ['build_dict', '-t', 'prosocial:safety,prosocial:rots', '--multitask-weights', '4,1',
         '--prosocial-data-dir', sample_data_dir, '-df', dict_file],
        cwd=str(tmp_path),
    )
    assert dict_file.is_file()
    assert not [w for w in parlai_warnings if 'multitask weights are ignored' in w]


def test_the_tokenizer_noise_is_filtered_exactly_while_a_run_of_ours_runs():
    library = logging.getLogger('transformers')  # where transformers' handler is
    seen = []

    class Handler(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Handler()
    library.addHandler(handler)
    logger = logging.getLogger('transformers.tokenization_utils_base')
    try:
        with run_noise_quieted():  # (what a run of ours runs in)
            for _, message in KNOWN_LOG_NOISE:
                logger.warning(message + ' (600 > 512). Running this sequence ...')
            logger.warning('Token indices are fine, something else happened')
            # the same words from another logger are not ours to hide
            logging.getLogger('transformers.other').warning(KNOWN_LOG_NOISE[0][1])
        logger.warning(KNOWN_LOG_NOISE[0][1])  # after the run: transformers' output again
    finally:
        library.removeHandler(handler)
    assert seen == ['Token indices are fine, something else happened', KNOWN_LOG_NOISE[0][1],
                    KNOWN_LOG_NOISE[0][1]]
