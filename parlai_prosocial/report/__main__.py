from .script import ProsocialReport

if __name__ == '__main__':
    ProsocialReport.whole_process = True  # the process is the report: its time is the command's
    ProsocialReport.main()
