"""The embedded broker: kombu's filesystem transport with atomic message files.

kombu 5.7's filesystem transport creates a message file under its final name and then writes
it, while a consumer takes any file with a matching name. A consumer can therefore take a file
that is still empty or half written, fail to decode it, and drop the message. Here a message is
written under a hidden name and renamed into place (atomic on one filesystem), and a consumer
takes it by renaming it into a folder beside the queue (also atomic, where the stock transport
moves it to the system temp directory, which may be another filesystem), so each complete
message is read by exactly one consumer. A file that still cannot be decoded (left by a writer
of kombu's own transport killed mid-write) is dropped with a warning instead of stopping the
worker: its run is re-driven from the journal by the sweeper, like any lost message.

The stock transport also keeps each exchange's bindings in a control file that a binder creates
by truncating it before it holds the file's lock, so a process declaring a queue at the same
moment as another can read an empty table and fail (``JSONDecodeError``): a worker and a client
starting together, or two producers. Here a binder takes a lock file of its own and replaces the
table by rename, so a reader sees the old table or the new one, whole.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.transport.filesystem import exchange_queue_t
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

__all__ = ["SCHEME", "Channel", "Transport"]

SCHEME = "chordline-filesystem"

log = logging.getLogger("chordline.broker")


class Channel(filesystem.Channel):
    """Writes by rename, takes by rename."""

    # celery-types' stubs name this parameter `message` on AbstractChannel and `payload` on
    # filesystem.Channel, so no override satisfies both; kombu itself passes it positionally.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        folder = Path(self.data_folder_out)
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        partial = folder / f".{uuid.uuid4().hex}.partial"
        partial.write_bytes(str_to_bytes(dumps(payload)))
        os.replace(partial, folder / name)

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        folder = Path(self.data_folder_in)
        taken = folder / ".taken"
        taken.mkdir(exist_ok=True)
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            mine = taken / f"{uuid.uuid4().hex}.{name}"
            try:
                os.rename(folder / name, mine)
            except OSError:
                continue  # another consumer took it first
            try:
                return loads(bytes_to_str(mine.read_bytes()))
            except ValueError as exc:  # JSONDecodeError
                log.warning(
                    "dropped an unreadable message on queue %s (%s); the sweeper re-drives its "
                    "run from the journal",
                    queue,
                    exc,
                )
            finally:
                mine.unlink(missing_ok=True)
        raise Empty()

    # The stubs type this as list[exchange_queue_t] on filesystem.Channel and as a list of plain
    # 3-tuples on its virtual base (lists are invariant); kombu's own stubs ignore it the same way.
    def get_table(self, exchange: str) -> list[exchange_queue_t]:  # type: ignore[override]
        """The queues bound to ``exchange`` (the file is only ever replaced whole)."""
        try:
            raw = self._table_file(exchange).read_bytes()
        except FileNotFoundError:
            return []
        return [exchange_queue_t(*q) for q in loads(bytes_to_str(raw))] if raw else []

    def queue_bind(
        self,
        queue: str,
        exchange: str | None = None,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Bind ``queue`` and see the binding in the table before returning.

        kombu keeps a process's declared bindings in memory and writes the table only for the
        first connection that binds: another connection of the same process returned at once and
        could publish before that write landed, and a message with no route is dropped without a
        word. Every bind here waits on the table's lock (a no-op when the binding is there).
        """
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)
        name = exchange or "amq.direct"
        meta = self.typeof(name).prepare_bind(queue, name, routing_key, arguments)
        # kombu returns (routing key, pattern, queue); the stubs declare a fourth member.
        self._queue_bind(name, *meta[:3])

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str | None, queue: str) -> None:
        table = self._table_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        binding = exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with table.with_suffix(".lock").open("ab") as guard:
            fcntl.flock(guard.fileno(), fcntl.LOCK_EX)  # released when the file closes
            queues = self.get_table(exchange)
            if binding in queues:
                return
            partial = self.control_folder / f".{uuid.uuid4().hex}.partial"
            partial.write_bytes(str_to_bytes(dumps([binding, *queues])))
            os.replace(partial, table)

    def _table_file(self, exchange: str) -> Path:
        """Where ``exchange``'s bindings live, by kombu's own rule (the name checked, the file a
        direct child of the control folder)."""
        # kombu 5.7 has _exchange_file; the celery-types stubs predate it.
        table: Path = self._exchange_file(exchange)  # type: ignore[attr-defined]
        return table


class Transport(filesystem.Transport):
    """The filesystem transport with :class:`Channel`."""

    Channel = Channel


TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")
