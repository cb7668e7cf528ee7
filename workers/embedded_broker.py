"""The embedded broker: kombu's filesystem transport, made safe against a crash mid-write.

kombu writes a message straight into the queue folder, so a reader can take a file that is still
being written, and a process killed mid-write leaves a truncated file behind; the next worker to
read it dies on a JSON error and the quick start stops for good. Here a message is written under
a name no reader matches and renamed into place when complete (``os.replace`` is atomic), and a
message that cannot be decoded anyway is dropped with a warning: its run is re-driven from the
journal by the sweeper, like any lost message.
"""

from __future__ import annotations

import logging
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps

__all__ = ["Channel", "Transport"]

log = logging.getLogger("chordline.broker")


class Channel(filesystem.Channel):
    """A filesystem channel with atomic writes and tolerant reads."""

    # The stubs of kombu's base and filesystem channels disagree on this signature.
    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot puts the partial file outside every queue's ``<queue>.msg`` pattern.
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as handle:
                handle.write(dumps(message).encode())
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"cannot add {final!r} to the queue folder") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        while True:
            try:
                return super()._get(queue)
            except ValueError as exc:  # JSONDecodeError: written by an older or crashed writer
                log.warning(
                    "dropped an unreadable message on queue %s (%s); the sweeper re-drives "
                    "its run from the journal",
                    queue,
                    exc,
                )


class Transport(filesystem.Transport):
    """kombu's filesystem transport with :class:`Channel`."""

    Channel = Channel
