"""Group commit: one thread per process runs the share service's requests, several per transaction.

Every request of the share service writes (its nonce, its usage record), so every request is a
write transaction.  Run on a thread pool, each request paid its own commit, queued on SQLite's
write lock (whose busy handler sleeps 1 to 100 ms between tries: multi-second tails with two
worker processes), and, since SQLite and psycopg release the GIL around every statement, waited
at each statement for the event loop's thread to give the GIL back (up to the 5 ms switch
interval: the convoy effect).  Profiled, a worker spent 40 % of its time in COMMIT and answered
64 requests a second where one request alone took 4 ms.

Here one thread per process takes every request waiting (at most ``most``) and, for the batch:

1. runs each request's ``prepare`` outside any transaction: the work that needs no write (checking
   the request signature, parsing, verifying an uploaded file); it returns the request's step;
2. runs the steps in one library transaction, in arrival order, each exactly as it would run alone
   (a refusal, an :class:`~ecert.errors.EcertError`, keeps what the step wrote before it, as a
   request's own transaction would commit it);
3. commits once, and only then runs each request's ``finish`` (its answer, signed) and hands the
   answers to the event loop.

So a use is still recorded in the same transaction as the read it accounts for, and no answer
leaves before the commit that records it.  Any other exception in a step (a database error, a
bug) rolls the whole batch back and its steps run again, each in its own transaction, so one bad
request cannot lose or fail the others' work.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ecert.errors import EcertError

try:
    import fcntl
except ImportError:  # not on Windows: there SQLite's own lock alone keeps the workers apart
    fcntl = None  # type: ignore[assignment]
from ecert.registry.base import Registry

__all__ = ["GroupCommit"]

_IDLE = 30.0  # seconds without a request before the writer thread ends

T = TypeVar("T")
R = TypeVar("R")

Step = Callable[[], T]
Prepare = Callable[[], Step[T]]
Finish = Callable[[T | None, BaseException | None], R]


@dataclass(slots=True)
class _Job(Generic[T, R]):
    prepare: Prepare[T]
    finish: Finish[T, R]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[R]
    step: Step[T] | None = None
    value: T | None = None
    error: BaseException | None = None
    answer: Any = field(default=None)
    failed: BaseException | None = None


class GroupCommit:
    """The per-process writer of the share service (see the module docstring); thread-safe."""

    def __init__(self, library: Registry, *, most: int = 64) -> None:
        if most < 1:
            raise ValueError("a batch holds at least one request")
        self._library = library
        self._most = most
        self._queue: deque[_Job[Any, Any]] = deque()
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batches = 0  # counters, read by tests and the benchmark
        self.requests = 0

    async def run(self, prepare: Prepare[T], finish: Finish[T, R]) -> R:
        """Queue a request and wait for its answer (``finish``'s value; its exception is raised here)."""
        loop = asyncio.get_running_loop()
        job: _Job[T, R] = _Job(prepare, finish, loop, loop.create_future())
        with self._ready:
            if self._closed:
                raise RuntimeError("the share service's writer is closed")
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="ecert-share-writer", daemon=True)
                self._thread.start()
            self._ready.notify()
        return await job.future

    def close(self) -> None:
        """Finish the queued requests, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # --- the writer thread -----------------------------------------------------------------------

    def _serve(self) -> None:
        """Batches until closed, or idle for ``_IDLE`` seconds (the next request starts a new thread)."""
        lock = _share_lock(self._library)
        try:
            while True:
                with self._ready:
                    if not self._queue and not self._closed:
                        self._ready.wait(_IDLE)
                    if not self._queue:  # closed, or idle
                        self._thread = None
                        return
                    batch = [self._queue.popleft() for _ in range(min(self._most, len(self._queue)))]
                try:
                    self._run(batch, lock)
                except BaseException as exc:  # the writer itself broke: answer, and let the next start anew
                    for job in batch:
                        job.failed = exc
                    _hand_over(batch)
                    with self._ready:
                        self._thread = None
                    raise
        finally:
            if lock is not None:
                os.close(lock)

    def _run(self, batch: list[_Job[Any, Any]], lock: int | None) -> None:
        for job in batch:
            try:
                job.step = job.prepare()
            except Exception as exc:
                job.error = exc
        steps = [job for job in batch if job.step is not None]
        if steps:
            try:
                self._together(steps, lock)
            except Exception:
                for job in steps:
                    self._alone(job, lock)
        for job in batch:
            try:
                job.answer = job.finish(job.value, job.error)
            except Exception as exc:
                job.failed = exc
        self.batches += 1
        self.requests += len(batch)
        _hand_over(batch)

    def _together(self, jobs: list[_Job[Any, Any]], lock: int | None) -> None:
        """All steps in one transaction; an exception other than a refusal aborts it (and propagates)."""
        with _turn(lock), self._library.atomic():
            for job in jobs:
                assert job.step is not None
                try:
                    job.value = job.step()
                except EcertError as exc:
                    job.error = exc

    def _alone(self, job: _Job[Any, Any], lock: int | None) -> None:
        """One step in its own transaction, after its batch was rolled back."""
        assert job.step is not None
        job.value, job.error = None, None
        refusal: EcertError | None = None
        try:
            with _turn(lock), self._library.atomic():
                try:
                    job.value = job.step()
                except EcertError as exc:
                    refusal = exc
        except Exception as exc:
            job.value, job.error = None, exc
            return
        job.error = refusal


@contextlib.contextmanager
def _turn(lock: int | None) -> Iterator[None]:
    """Wait for this process's turn to write: on SQLite, the share workers queue on a file lock.

    SQLite's own wait for its write lock is a busy handler that sleeps 1, 2, 5 ... 100 ms between
    tries, so a worker that finds the other one writing sleeps well past the end of its
    transaction (and, with every request a write, often again): seconds of tail latency.
    ``flock`` wakes the waiter when the lock is let go.  The lock file sits beside the database
    (``<library>-share.lock``); other writers (issuing) still meet SQLite's own lock.
    """
    if lock is None:
        yield
        return
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)


def _share_lock(library: Registry) -> int | None:
    """An open lock file for an SQLite library's share workers (None for other libraries)."""
    from ecert.registry.sqlite import SQLiteRegistry

    if fcntl is None or not isinstance(library, SQLiteRegistry) or library.path.startswith(":"):
        return None
    if library.path.startswith("file:"):
        return None
    try:
        return os.open(f"{library.path}-share.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:  # a read-only folder: SQLite's own lock still keeps writers apart
        return None


def _hand_over(batch: list[_Job[Any, Any]]) -> None:
    """The answers to their event loops, one call per loop and batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Job[Any, Any]]] = {}
    for job in batch:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, jobs in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these answers
            loop.call_soon_threadsafe(_deliver, jobs)


def _deliver(jobs: list[_Job[Any, Any]]) -> None:
    for job in jobs:
        if job.future.done():  # the request was cancelled (its client went away)
            continue
        if job.failed is not None:
            job.future.set_exception(job.failed)
        else:
            job.future.set_result(job.answer)
