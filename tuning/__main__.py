"""`python -m tuning ...`"""

import gc
import os
import sys
import threading

from tuning.cli import main

code = main()
# Everything is written by now. Tearing down TensorFlow's and Keras's objects one by one at
# exit takes over a second; frozen, the collector leaves them to the process's end.
gc.freeze()
if any(thread.daemon and thread.is_alive() for thread in threading.enumerate()):
    # Refused while TensorFlow was still being imported in the background: the interpreter's
    # teardown under a half-done import can crash, so leave at once, with everything said.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
