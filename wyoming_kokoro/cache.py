"""Bounded LRU cache of synthesised segments.

Home Assistant says the same short things many times a day ("Turned on the
lights"). A repeated segment is served from memory instead of the model, so
the reply starts within milliseconds. Keys are the segment's phonemes (a
function of the normalised text and language), voice, speed and model;
values are the model's raw audio, so trimming and pauses are applied exactly
as for fresh audio. Size is bounded in bytes, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np


class AudioCache:
    def __init__(self, max_bytes: int, max_phonemes: int) -> None:
        self.max_bytes = max_bytes
        self.max_phonemes = max_phonemes
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        """Later segments are looked up on the worker, stored from the event loop."""

    def accepts(self, phonemes: str) -> bool:
        return self.max_bytes > 0 and len(phonemes) <= self.max_phonemes

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            audio = self._items.get(key)
            if audio is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return audio

    def put(self, key: Hashable, audio: np.ndarray) -> None:
        if audio.nbytes > self.max_bytes:
            return
        audio = audio.copy()
        audio.flags.writeable = False
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old.nbytes
            self._items[key] = audio
            self.bytes += audio.nbytes
            while self.bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self.bytes -= evicted.nbytes

    def __len__(self) -> int:
        return len(self._items)
