"""The embedded broker neither loses nor duplicates messages under concurrent writers/readers.

kombu's stock filesystem transport lets a reader take a file before its writer finished it,
which drops the message; 3 MB messages make the window wide enough to show it (the stock
transport fails this test).
"""

from __future__ import annotations

import threading
from pathlib import Path
from queue import Empty

from kombu import Connection

from workers.embedded_transport import SCHEME


def _connection(folder: Path) -> Connection:
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
        "polling_interval": 0.001,
    }
    return Connection(f"{SCHEME}://", transport_options=options)


def test_every_message_is_received_exactly_once(tmp_path: Path) -> None:
    folder = tmp_path / "broker"
    folder.mkdir()
    writers, per_writer, body = 6, 40, "x" * 3_000_000
    received: list[str] = []
    lock = threading.Lock()
    done_writing = threading.Event()
    failures: list[BaseException] = []

    def write(index: int) -> None:
        try:
            with _connection(folder) as connection:
                queue = connection.SimpleQueue("q")
                for n in range(per_writer):
                    queue.put({"id": f"{index}-{n}", "body": body})
        except BaseException as exc:  # a writer that dies must fail the test with its reason
            failures.append(exc)

    def read() -> None:
        with _connection(folder) as connection:
            queue = connection.SimpleQueue("q")
            while True:
                try:
                    message = queue.get(timeout=0.2)
                except Empty:
                    if done_writing.is_set():
                        return
                    continue
                assert message.payload["body"] == body
                message.ack()
                with lock:
                    received.append(message.payload["id"])

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    producers = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    done_writing.set()
    for thread in readers:
        thread.join(timeout=60)
    assert failures == []
    expected = {f"{i}-{n}" for i in range(writers) for n in range(per_writer)}
    assert sorted(received) == sorted(expected)


def test_queues_bound_at_once_from_many_connections_all_land_in_the_table(tmp_path: Path) -> None:
    # A worker and a client starting together both declare their queues: the exchange's table
    # of bindings is read and rewritten by each. None may fail or lose another's binding.
    folder = tmp_path / "broker"
    folder.mkdir()
    threads, per_thread = 12, 10
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def bind(index: int) -> None:
        with _connection(folder) as connection:
            channel = connection.default_channel
            channel.exchange_declare("shared", type="direct")
            start.wait()
            try:
                for n in range(per_thread):
                    name = f"q-{index}-{n}"
                    channel.queue_declare(name)
                    channel.queue_bind(name, exchange="shared", routing_key=name)
            except BaseException as exc:  # collected: a thread's error must fail the test
                failures.append(exc)

    workers = [threading.Thread(target=bind, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    assert failures == []
    with _connection(folder) as connection:
        table = connection.default_channel.get_table("shared")
    bound = sorted(queue for _, _, queue in table)
    assert bound == sorted(f"q-{i}-{n}" for i in range(threads) for n in range(per_thread))
