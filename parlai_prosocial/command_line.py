"""
The argument parser of the plugin's own small commands (``python -m parlai_prosocial``,
``python -m parlai_prosocial.samples``, ``python -m parlai_prosocial.offline_data``): a wrong
argument (an unknown name or flag, a missing one) is one line with the usage, exit status 2, as
every other error of the plugin is one line (argparse prints the usage and the error on two).
"""

import argparse


class OneLineArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        usage = ' '.join(self.format_usage().split())
        usage = usage[len('usage: '):] if usage.startswith('usage: ') else usage
        self.exit(2, f'{self.prog}: error: {message} (usage: {usage})\n')
