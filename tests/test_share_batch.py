"""Group commit (ecert.share.batch): requests waiting together share one transaction, each runs as it
would alone, and no answer is handed out before the commit that records it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ecert.errors import EcertError, PermissionDenied
from ecert.registry.base import Usage
from ecert.share.batch import GroupCommit

from .share_support import opened


def use(library: Any, n: int) -> Usage:
    return Usage(app_id="tax", department="税务局", operator="王经办", operation="get", result=f"r{n}",
                 identifier=None, reason="测试 group commit")  # fmt: skip


def results(library: Any) -> list[str]:
    return [r.usage.result for r in library.usage(app_id="tax")]


def run_all(writer: GroupCommit, jobs: list[tuple[Callable[[], Any], Any]]) -> list[Any]:
    """Submit every job at once (they queue while the writer thread starts) and gather the answers."""

    async def main() -> list[Any]:
        return await asyncio.gather(*(writer.run(p, f) for p, f in jobs), return_exceptions=True)

    return asyncio.run(main())


def test_requests_that_wait_together_share_a_commit_and_keep_their_order(library: Any) -> None:
    writer = GroupCommit(library)
    hold = threading.Event()

    def first() -> Callable[[], str]:
        hold.wait(5)  # the others queue behind this one meanwhile
        return lambda: library.record_usage(use(library, 0)).usage.result

    jobs: list[Any] = [(first, lambda v, e: v)]
    for n in range(1, 20):
        jobs.append((lambda n=n: lambda: library.record_usage(use(library, n)).usage.result, lambda v, e: v))
    threading.Timer(0.3, hold.set).start()
    answers = run_all(writer, jobs)
    writer.close()
    assert answers == [f"r{n}" for n in range(20)]
    assert results(library) == [f"r{n}" for n in range(20)]
    assert writer.requests == 20 and writer.batches < 20  # some waited together
    assert library.check().ok  # the usage chain is whole


def test_a_refusal_keeps_what_it_wrote_and_the_others_go_on(library: Any) -> None:
    writer = GroupCommit(library)

    def refused() -> None:
        library.record_usage(use(library, 1))  # a refused read is recorded, then refused
        raise PermissionDenied("no right")

    jobs = [
        (lambda: lambda: library.record_usage(use(library, 0)).usage.result, lambda v, e: e or v),
        (lambda: refused, lambda v, e: e or v),
        (lambda: lambda: library.record_usage(use(library, 2)).usage.result, lambda v, e: e or v),
    ]
    answers = run_all(writer, jobs)
    writer.close()
    assert answers[0] == "r0" and answers[2] == "r2"
    assert isinstance(answers[1], PermissionDenied)
    assert results(library) == ["r0", "r1", "r2"]


def test_an_unexpected_failure_rolls_back_only_its_own_request(library: Any) -> None:
    writer = GroupCommit(library)

    def broken() -> None:
        library.record_usage(use(library, 1))
        raise ZeroDivisionError("a bug")

    jobs = [
        (lambda: lambda: library.record_usage(use(library, 0)).usage.result, lambda v, e: e or v),
        (lambda: broken, lambda v, e: e or v),
        (lambda: lambda: library.record_usage(use(library, 2)).usage.result, lambda v, e: e or v),
    ]
    answers = run_all(writer, jobs)
    writer.close()
    assert answers[0] == "r0" and answers[2] == "r2"
    assert isinstance(answers[1], ZeroDivisionError) and not isinstance(answers[1], EcertError)
    assert results(library) == ["r0", "r2"]  # r1 was rolled back with its request alone
    assert library.check().ok


def test_no_answer_before_its_commit(library: Any, library_location: str) -> None:
    """``finish`` runs after the commit: another connection already sees the usage record."""
    writer = GroupCommit(library)
    seen: list[list[str]] = []

    def finish(value: Any, error: BaseException | None) -> Any:
        with opened(library_location) as other:
            seen.append([r.usage.result for r in other.usage(app_id="tax")])
        return value

    run_all(writer, [(lambda: lambda: library.record_usage(use(library, 7)), finish)])
    writer.close()
    assert seen == [["r7"]]


def test_a_failure_before_the_transaction_is_that_requests_answer(library: Any) -> None:
    writer = GroupCommit(library)

    def bad_signature() -> Callable[[], Any]:
        raise PermissionDenied("the request signature does not verify")

    answers = run_all(
        writer,
        [
            (bad_signature, lambda v, e: e or v),
            (lambda: lambda: library.record_usage(use(library, 0)).usage.result, lambda v, e: e or v),
        ],
    )
    writer.close()
    assert isinstance(answers[0], PermissionDenied) and answers[1] == "r0"
    assert results(library) == ["r0"]


def test_the_writer_thread_ends_when_closed(library: Any) -> None:
    writer = GroupCommit(library)
    at = datetime.now(UTC)
    run_all(writer, [(lambda: lambda: at, lambda v, e: v)])
    writer.close()
    assert not [t for t in threading.enumerate() if t.name == "ecert-share-writer" and t.is_alive()]
