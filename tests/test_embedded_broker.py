"""The embedded broker survives a crash mid-write (no server needed)."""

from __future__ import annotations

import uuid
from pathlib import Path

from orchestration.config import load_settings
from workers.app import create_app


def test_a_truncated_message_is_dropped_and_the_next_one_delivered(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, broker_url="filesystem://")
    app = create_app(settings)
    folder = tmp_path / "broker"
    # A queue of this test's own: kombu keeps exchanges and bindings in a class-level state that
    # outlives a test's broker folder, so another test's "agents" queue in this process could
    # route the message elsewhere (a worker process has one folder and never sees that).
    name = f"agents{uuid.uuid4().hex[:8]}"
    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue(name)
        # What kombu's own transport leaves when its writer is killed mid-write; sorts first.
        (folder / f"0_crashed.{name}.msg").write_bytes(b'{"body": "eyJh')
        queue.put({"step": 2})
        assert not list(folder.glob(".*.partial")), "a complete message is renamed into place"
        # A deadline, not a wait: the message is there; a loaded machine may take a while.
        message = queue.get(timeout=15)
        assert message.payload == {"step": 2}
        message.ack()
        queue.close()
    assert not list(folder.glob(f"*.{name}.msg"))
