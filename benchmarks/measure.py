"""Measure a command the way the benchmark reports it: wall time, CPU of the whole process tree, peak memory.

CPU: `getrusage(RUSAGE_CHILDREN)` before and after, which counts every descendant that has
been waited for. The pipeline's extraction workers are children of a multiprocessing
"forkserver" process, which the archiver does not wait for; so this process makes itself
a child subreaper (Linux prctl PR_SET_CHILD_SUBREAPER): orphaned descendants are handed to
it, and it waits for them, so their CPU time is counted too.

The CPU time of the command's own process (without its children) is read from /proc at
each sample: the last sample before it exits is at most 0.1 s short.

Memory: a thread samples the process tree every 0.1 s from /proc and keeps the peak of the
sum of resident set sizes (RSS: shared pages counted once per process, so an upper bound)
and of proportional set sizes (PSS: shared pages divided among the processes sharing them).
Linux only, no dependencies.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass, field

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Adopt orphaned descendants (so their CPU time can be counted); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _ppid_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children = _ppid_map()
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _own_cpu(pid: int) -> float | None:
    """User + system CPU seconds of `pid` itself (not its children), from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TreeSampler(threading.Thread):
    """Peak RSS and PSS (KB) of a process and its descendants, sampled every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.1, exclude: set[int] | None = None) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.exclude = exclude or set()
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.peak_single_rss_kb = 0
        self.root_cpu = 0.0
        self.peak_processes = 0
        self.peak_by_process: dict[int, tuple[int, int]] = {}
        self.names: set[str] = set()  # the command names (/proc/PID/comm) of every process seen
        self.samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        own = _own_cpu(self.pid)
        if own is not None:
            self.root_cpu = own
        pids = [p for p in descendants(self.pid) if p not in self.exclude]
        totals = [_memory_kb(p) for p in pids]
        self.peak_rss_kb = max(self.peak_rss_kb, sum(t[0] for t in totals))
        self.peak_pss_kb = max(self.peak_pss_kb, sum(t[1] for t in totals))
        self.peak_single_rss_kb = max([self.peak_single_rss_kb] + [t[0] for t in totals])
        self.peak_processes = max(self.peak_processes, sum(1 for t in totals if t[0]))
        for pid, (rss, pss) in zip(pids, totals):
            if pid not in self.peak_by_process:
                try:
                    with open(f"/proc/{pid}/comm") as handle:
                        self.names.add(handle.read().strip())
                except OSError:
                    pass
            old_rss, old_pss = self.peak_by_process.get(pid, (0, 0))
            self.peak_by_process[pid] = (max(old_rss, rss), max(old_pss, pss))
        self.samples += 1

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class Measured:
    """What running one command cost."""

    command: list[str]
    returncode: int
    wall: float
    user: float
    system: float
    peak_rss_mb: float
    peak_pss_mb: float
    largest_process_rss_mb: float
    main_cpu: float = 0.0
    stdout: str = ""
    stderr: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cpu(self) -> float:
        return self.user + self.system


def reap_orphans(keep: set[int], timeout: float = 10.0) -> None:
    """Wait for adopted orphans (children of this process that are not in `keep`) to exit."""
    deadline = time.monotonic() + timeout
    me = os.getpid()
    while time.monotonic() < deadline:
        orphans = [p for p in _ppid_map().get(me, []) if p not in keep]
        if not orphans:
            return
        for pid in orphans:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if not done:
                time.sleep(0.05)


def run(command: list[str], *, env: dict | None = None, keep: set[int] | None = None,
        cwd: str | None = None) -> Measured:
    """Run `command` to completion and measure it (see the module docstring)."""
    keep = set(keep or ())
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.monotonic() - started
    sampler.stop()
    reap_orphans(keep | {process.pid})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Measured(
        command=command,
        returncode=process.returncode,
        wall=wall,
        user=after.ru_utime - before.ru_utime,
        system=after.ru_stime - before.ru_stime,
        peak_rss_mb=sampler.peak_rss_kb / 1024,
        peak_pss_mb=sampler.peak_pss_kb / 1024,
        largest_process_rss_mb=sampler.peak_single_rss_kb / 1024,
        main_cpu=sampler.root_cpu,
        stdout=stdout,
        stderr=stderr,
        extra={"samples": sampler.samples, "peak_processes": sampler.peak_processes,
               "process_names": sorted(sampler.names),
               "main_peak_rss_mb": round(sampler.peak_by_process.get(process.pid, (0, 0))[0] / 1024, 1),
               "main_peak_pss_mb": round(sampler.peak_by_process.get(process.pid, (0, 0))[1] / 1024, 1),
               "other_processes_peak_pss_mb": sorted(
                   (round(pss / 1024, 1) for pid, (_, pss) in sampler.peak_by_process.items() if pid != process.pid),
                   reverse=True),
               "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]},
    )
