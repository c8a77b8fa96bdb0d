"""bench/sampler.py's sample files, read by report.py and chat_report.py."""


def read_samples(path):
    """Rows of (wall time, CPU ticks, VmRSS kB, open fds, core 0 busy,
    core 0 total); none if the file is missing."""
    rows = []
    try:
        with open(path) as f:
            for line in f:
                a = line.split()
                if len(a) == 6:
                    rows.append((float(a[0]), int(a[1]), int(a[2]), int(a[3]),
                                 int(a[4]), int(a[5])))
    except OSError:
        pass
    return rows
