"""The embedded broker's transport publishes whole messages, even to a consumer polling hard."""

from __future__ import annotations

import threading
from pathlib import Path

from kombu import Connection

from workers.embedded_transport import SCHEME


def _connection(folder: Path) -> Connection:
    folder.mkdir(parents=True, exist_ok=True)
    return Connection(
        f"{SCHEME}://",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(folder.parent / "control"),
            "polling_interval": 0.001,
        },
    )


def test_a_consumer_polling_while_messages_are_written_gets_each_one_whole(
    tmp_path: Path,
) -> None:
    count, body = 300, "x" * 200_000  # big enough that a write takes a while
    folder = tmp_path / "broker"
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            with _connection(folder) as connection:
                queue = connection.SimpleQueue("race")
                for index in range(count):
                    queue.put({"index": index, "body": body})
                queue.close()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    producer = threading.Thread(target=produce)
    received: list[int] = []
    with _connection(folder) as connection:
        queue = connection.SimpleQueue("race")
        producer.start()
        while len(received) < count:
            message = queue.get(timeout=30)
            assert message.payload["body"] == body
            received.append(message.payload["index"])
            message.ack()
        queue.close()
    producer.join()
    assert not errors
    assert sorted(received) == list(range(count))
    assert not list(folder.glob(".*.partial"))
