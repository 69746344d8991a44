"""Windows: commands die with the process that started them (a Job Object).

POSIX has the guardian (platform/guardian.py) for this; Windows has no process
groups that a dying parent takes along, but it has jobs:

    first command in this process ─► one Job Object, limit KILL_ON_JOB_CLOSE,
        its handle held (never closed) by this process
    each command ─► contain(proc): AssignProcessToJobObject; everything the
        command starts afterwards is in the job too
    this process ends, however it ends (closed, crashed, killed by Task
        Manager) ─► Windows closes the handle ─► every process in the job is
        killed

A process worker (process mode) holds its own job, and dies with batchgui
(platform/workers.py), which takes its commands along. Only commands are put
in the job: a file opened with "Open output" is started by the shell, outside
it, and outlives batchgui as it should.

Elsewhere `contain` does nothing and says so (False). The structures are
defined on every system so that their layout is checked here (tests).
"""

from __future__ import annotations

import ctypes
import logging
import subprocess
import sys
import threading

log = logging.getLogger(__name__)

JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9


class BasicLimits(ctypes.Structure):  # JOBOBJECT_BASIC_LIMIT_INFORMATION
    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    ]


class IoCounters(ctypes.Structure):  # IO_COUNTERS
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "ReadOperationCount",
            "WriteOperationCount",
            "OtherOperationCount",
            "ReadTransferCount",
            "WriteTransferCount",
            "OtherTransferCount",
        )
    ]


class ExtendedLimits(ctypes.Structure):  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION
    _fields_ = [
        ("BasicLimitInformation", BasicLimits),
        ("IoInfo", IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


def kill_on_close_limits() -> ExtendedLimits:
    limits = ExtendedLimits()
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    return limits


_job: int | None = None
_job_lock = threading.Lock()
_unavailable = False  # the job could not be made: said once, then commands run without


def contain(proc: subprocess.Popen[bytes]) -> bool:
    """Put a just-started command (and all it will start) in this process's job.

    False where there is no such mechanism (POSIX: the guardian does it) or
    Windows refused; a refusal is logged once and the command runs on.
    """
    if sys.platform != "win32":
        return False
    job = _the_job()
    if job is None:
        return False
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = int(getattr(proc, "_handle"))  # noqa: B009 (Popen's process handle; private)
    if not kernel32.AssignProcessToJobObject(ctypes.c_void_p(job), ctypes.c_void_p(handle)):
        log.warning(
            "command %s not put in batchgui's job (error %d): it may outlive a killed batchgui",
            proc.pid,
            ctypes.get_last_error(),
        )
        return False
    return True


def _the_job() -> int | None:
    global _job, _unavailable
    if sys.platform != "win32":
        return None
    with _job_lock:
        if _job is not None or _unavailable:
            return _job
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        kernel32.CreateJobObjectW.restype = ctypes.c_void_p
        job = kernel32.CreateJobObjectW(None, None)
        limits = kill_on_close_limits()
        if not job or not kernel32.SetInformationJobObject(
            ctypes.c_void_p(job),
            JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS,
            ctypes.byref(limits),
            ctypes.sizeof(limits),
        ):
            _unavailable = True
            log.warning(
                "no Job Object (error %d): commands may outlive a killed batchgui",
                ctypes.get_last_error(),
            )
            return None
        _job = int(job)
        return _job
