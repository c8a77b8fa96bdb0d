"""What report.py and chat_report.py share: bench/sampler.py's sample files
and running gnuplot on a chart script."""
import os
import shutil
import subprocess
import sys


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


def run_gnuplot(d, name, what):
    """Runs gnuplot on the script d/name (which writes its png). False (and why, on stderr)
    if gnuplot is missing or fails; `what` names the chart."""
    gp = shutil.which("gnuplot")
    if not gp:
        print(f"report: gnuplot not found, no {what}", file=sys.stderr)
        return False
    r = subprocess.run([gp, os.path.join(d, name)], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"report: gnuplot failed ({what}): " + r.stderr, file=sys.stderr)
        return False
    return True
