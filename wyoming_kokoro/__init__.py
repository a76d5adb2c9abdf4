"""Kokoro-82M text to speech served over the Wyoming protocol.

The data path reads off the module list: text -> normalize -> phonemize ->
segment -> infer (via the scheduler) -> chunk -> handler (Wyoming events).
"""

__version__ = "0.1.0"

SAMPLE_RATE = 24000
"""Kokoro v1.0 always produces 24 kHz audio."""

SAMPLE_WIDTH = 2
"""We send 16-bit PCM: what every Wyoming client and Home Assistant expects."""

CHANNELS = 1
