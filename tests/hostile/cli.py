"""Run the real ``segmint`` command in a child process, with a time limit and its peak memory.

``os.wait4`` gives the child's own ``ru_maxrss`` (not a sum over all children). An address-space
cap keeps a runaway child from taking the shared machine down before the assertion can fail.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SEGMINT = Path(sys.executable).parent / "segmint"
ADDRESS_SPACE_CAP = 4 << 30


@dataclass
class Result:
    code: int  # the exit code; -N: ended by signal N (after a timeout: -9 and timed_out)
    out: str
    err: str
    peak_mb: float
    seconds: float
    timed_out: bool

    @property
    def text(self) -> str:
        """stdout + stderr on single spaces (Rich wraps long lines)."""
        return " ".join(f"{self.out}\n{self.err}".split())


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))
    os.setsid()


def segmint_cli(*args: str | Path, timeout: float = 60, cwd: Path | None = None) -> Result:
    """``segmint ARGS`` as a child process; killed (with its group) after ``timeout`` seconds."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [str(SEGMINT), *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=cwd,
            preexec_fn=_cap,
        )
        status, usage, timed_out = _wait(proc.pid, start + timeout)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Result(
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_maxrss / 1024,
            seconds,
            timed_out,
        )


def _wait(pid: int, deadline: float) -> tuple[int, resource.struct_rusage, bool]:
    while time.monotonic() < deadline:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, False
        time.sleep(0.05)
    os.killpg(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    return status, usage, True
