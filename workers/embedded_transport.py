"""kombu's filesystem transport, publishing each message atomically (the embedded broker).

kombu's own filesystem transport creates a message file under its final name and then writes
it. A consumer polling the folder can take the file in between, read nothing and fail to decode
it: the message is lost and the worker stops with ``Unrecoverable error: JSONDecodeError``
(compare celery/kombu#1551). The benchmarks hit it within a few hundred steps on a busy
machine. This transport writes a message under a name consumers skip, then renames it into
place, which is atomic within one directory; everything else is kombu's.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

__all__ = ["SCHEME", "Channel", "Transport"]

SCHEME = "chordline-filesystem"


class Channel(filesystem.Channel):
    """A filesystem channel whose messages appear whole or not at all."""

    # kombu's stubs name the payload differently in the filesystem and the abstract channel.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # Same name scheme as kombu (sorted by time); the partial file starts with a dot, so
        # the consumer's "<anything>.<queue>.msg" match skips it until the rename.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb", buffering=0) as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    """kombu's filesystem transport with :class:`Channel`."""

    Channel = Channel


TRANSPORT_ALIASES.setdefault(SCHEME, "workers.embedded_transport:Transport")
