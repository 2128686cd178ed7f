"""Memory measures and hand-backs on the real process (no TensorFlow needed)."""

from __future__ import annotations

import subprocess
import sys

_FRAGMENTED = """
from tuning.execution.memory import anonymous, give_back_freed
blocks = [bytes(4000) for _ in range(25_000)]  # 100 MB in separate blocks of the C heap
pin = [bytes(4000) for _ in range(10)]  # allocated above them: the heap cannot shrink
del blocks
freed = anonymous()
give_back_freed()
print(freed, anonymous())
"""


def test_memory_freed_below_live_blocks_goes_back_to_the_system():
    done = subprocess.run([sys.executable, "-c", _FRAGMENTED], capture_output=True, text=True,
                          check=True)
    freed, after = (int(v) for v in done.stdout.split())
    assert freed - after > 60 * 2**20, (freed, after)
