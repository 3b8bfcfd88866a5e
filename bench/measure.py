"""Run a command and measure it: wall-clock seconds and the peak RSS of that very process.

os.wait4 returns the child's own resource usage; its ru_maxrss is the largest resident set
of the child or of any process it waited for (our parse workers, for instance), i.e. the
"largest process" figure. getrusage(RUSAGE_CHILDREN) would instead give the largest of every
child this benchmark ever ran.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_kb: int
    returncode: int
    stdout: str
    stderr: str


def run_measured(argv: list[str]) -> Measured:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            seconds,
            usage.ru_maxrss,
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )
