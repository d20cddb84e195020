"""CPU time spent by groups of processes over a window: the one meter every benchmark uses.

A group is a name and the processes it stands for (a service of the stack, this database's
PostgreSQL backends, the shared Redis). Groups are listed again when the window closes, so a
process that started inside it (a backend connected during the run) counts from zero."""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterable

import psutil

from devstack.stack import Stack

Groups = dict[str, list[psutil.Process]]


def cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


class CpuMeter:
    """CPU seconds (user + system) per group between start() and stop()."""

    def __init__(self, *finders: Callable[[], Groups], machine: bool = False) -> None:
        self._finders = finders
        self._machine = machine
        self._start: dict[str, dict[int, float]] = {}
        self._machine_start = 0.0

    def sample(self) -> dict[str, dict[int, float]]:
        sample: dict[str, dict[int, float]] = {}
        for finder in self._finders:
            for group, procs in finder().items():
                seconds = sample.setdefault(group, {})
                for proc in procs:
                    try:
                        seconds[proc.pid] = cpu_seconds(proc)
                    except psutil.Error:
                        pass  # exited between listing and reading
        return sample

    def start(self) -> None:
        self._start = self.sample()
        self._machine_start = machine_busy()

    def stop(self) -> dict[str, float]:
        """Seconds per group, and with machine=True "machine": every core's busy time."""
        spent = spent_between(self._start, self.sample())
        if self._machine:
            spent["machine"] = machine_busy() - self._machine_start
        return spent


def spent_between(
    first: dict[str, dict[int, float]], last: dict[str, dict[int, float]]
) -> dict[str, float]:
    return {
        group: sum(cpu - first.get(group, {}).get(pid, 0.0) for pid, cpu in pids.items())
        for group, pids in last.items()
    }


def stack_processes(stack: Stack, names: Iterable[str] | None = None) -> Callable[[], Groups]:
    """The stack's own processes (Envoy, services, relay, consumers, Stripe emulator)."""
    wanted = set(names) if names is not None else None

    def find() -> Groups:
        return {
            name: [psutil.Process(proc.pid)]
            for name, proc in stack.procs.items()
            if proc.poll() is None and (wanted is None or name in wanted)
        }

    return find


def database_backends(database: str) -> Callable[[], Groups]:
    """ "postgres": the server processes serving connections to this database."""
    marker = f" {database} "

    def find() -> Groups:
        found = []
        for proc in psutil.process_iter(["name", "cmdline"]):
            cmdline = " ".join(proc.info["cmdline"] or ()) + " "
            if (proc.info["name"] or "").startswith("postgres") and marker in cmdline:
                found.append(proc)
        return {"postgres": found}

    return find


def shared_brokers(redis_port: int) -> Callable[[], Groups]:
    """ "redis" (the server listening on redis_port) and "rabbitmq": shared with whatever
    else runs on the machine, so shown apart from a benchmark's own total."""
    redis_pid: list[int] = []

    def is_ours(proc: psutil.Process) -> bool:
        if redis_pid:
            return proc.pid == redis_pid[0]
        try:
            ports = {c.laddr.port for c in proc.net_connections("tcp") if c.status == "LISTEN"}
        except psutil.Error:
            return False
        if redis_port in ports:
            redis_pid.append(proc.pid)
            return True
        return False

    def find() -> Groups:
        groups: Groups = {"rabbitmq": [], "redis": []}
        for proc in psutil.process_iter(["name", "cmdline"]):
            name = proc.info["name"] or ""
            if name == "beam.smp" and "rabbit" in " ".join(proc.info["cmdline"] or ()):
                groups["rabbitmq"].append(proc)
            elif name == "redis-server" and is_ours(proc):
                groups["redis"].append(proc)
        return groups

    return find


def machine_busy() -> float:
    """Busy seconds summed over every core since boot."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def children_cpu() -> float:
    """CPU seconds of this process's reaped children (the load generators)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    """This process: its threads (the mail sink's, say) while the main thread waits."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
