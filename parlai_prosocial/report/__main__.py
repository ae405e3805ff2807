from .script import ProsocialReport

if __name__ == '__main__':
    ProsocialReport.main()
