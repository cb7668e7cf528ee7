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

    def write(index: int) -> None:
        with _connection(folder) as connection:
            queue = connection.SimpleQueue("q")
            for n in range(per_writer):
                queue.put({"id": f"{index}-{n}", "body": body})

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
    expected = {f"{i}-{n}" for i in range(writers) for n in range(per_writer)}
    assert sorted(received) == sorted(expected)
