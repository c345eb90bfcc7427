"""Case summaries this process has opened, kept in memory for the key that opened them.

Ordering the inbox by urgency needs the urgency of up to SCAN_LIMIT open
cases, and urgency is only ever stored encrypted. Opening a thousand
summaries costs about a second; doing it on every page view made the
default inbox page the slowest one. So an opened summary is kept here, in
this worker's memory only (never on disk, never shared), under:

- a digest of the identity's secret, so only a request holding the same
  unlocked key can find it (the recipient would not do: it is public);
- the case number and the ciphertext's first HEAD_BYTES: the version line
  and the first stanza's ephemeral X25519 share, random for every sealing,
  so a re-sealed summary is opened afresh. Knowing an entry by its head lets
  the inbox read 80 bytes per case instead of the whole ciphertext.

Entries go after IDLE_SECONDS unused, the oldest first beyond MAX_ENTRIES,
and all of a key's at once when its lawyer logs out or locks
(`forget`; other workers' copies go by the idle limit).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from crypto import Decrypter, Identity
from intake.services.summaries import SummaryPayload, open_summary_with

# About 300 bytes each: a few megabytes per worker at most.
MAX_ENTRIES = 20_000
IDLE_SECONDS = 15 * 60
# "age-encryption.org/v1\n-> X25519 " and the 43 characters of the first share, and a little more.
HEAD_BYTES = 80
_Key = tuple[bytes, int, bytes]


class OpenedSummaries:
    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_entries = max_entries
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[_Key, tuple[SummaryPayload | None, float]] = OrderedDict()

    def known(
        self, identity: Identity, heads: Iterable[tuple[int, bytes | None]]
    ) -> dict[int, SummaryPayload | None]:
        """The summaries this key opened lately, by case number, of the (case number, head) pairs given.

        A case without a summary (head None) is known to have none. One look-up
        for the whole list: the inbox asks about a thousand cases per view.
        """
        owner = _key_digest(identity)
        now = self._clock()
        found: dict[int, SummaryPayload | None] = {}
        with self._lock:
            for case_number, head in heads:
                if head is None:
                    found[case_number] = None
                    continue
                key = (owner, case_number, bytes(head[:HEAD_BYTES]))
                cached = self._entries.get(key)
                if cached is not None and now - cached[1] < self._idle_seconds:
                    self._entries[key] = (cached[0], now)
                    self._entries.move_to_end(key)
                    found[case_number] = cached[0]
        return found

    def open_many(
        self, identity: Identity, ciphertexts: Sequence[tuple[int, bytes | None]]
    ) -> dict[int, SummaryPayload | None]:
        """Each (case number, ciphertext)'s summary by case number, opening only those not in memory.

        The key is parsed once for all of them: parsing it cost as much as
        opening a summary, so a cold inbox view opened a thousand at half speed.
        """
        summaries = self.known(identity, [(number, ciphertext) for number, ciphertext in ciphertexts])
        # known() answers for every case without a summary.
        unopened = [
            (number, ciphertext)
            for number, ciphertext in ciphertexts
            if ciphertext is not None and number not in summaries
        ]
        if not unopened:
            return summaries
        # Opened outside the lock: two requests may both open one, and that is harmless.
        decrypter = Decrypter([identity.secret])
        opened = [(number, ciphertext, open_summary_with(ciphertext, decrypter)) for number, ciphertext in unopened]
        owner, now = _key_digest(identity), self._clock()
        with self._lock:
            for number, ciphertext, summary in opened:
                key = (owner, number, bytes(ciphertext[:HEAD_BYTES]))
                self._entries[key] = (summary, now)
                self._entries.move_to_end(key)
                summaries[number] = summary
            self._drop_stale(now)
        return summaries

    def forget(self, identity: Identity) -> None:
        """Drop everything this key opened (its lawyer logged out or locked)."""
        owner = _key_digest(identity)
        with self._lock:
            for key in [key for key in self._entries if key[0] == owner]:
                del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _drop_stale(self, now: float) -> None:
        while self._entries:
            oldest_key, (_, last_used) = next(iter(self._entries.items()))
            if len(self._entries) <= self._max_entries and now - last_used < self._idle_seconds:
                return
            del self._entries[oldest_key]


def _key_digest(identity: Identity) -> bytes:
    return hashlib.blake2b(identity.secret.encode(), digest_size=16, person=b"intake-summaries").digest()


OPENED_SUMMARIES = OpenedSummaries()
