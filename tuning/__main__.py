"""`python -m tuning ...`"""

import gc
import sys

from tuning.cli import main

code = main()
# Everything is written by now. Tearing down TensorFlow's and Keras's objects one by one at
# exit takes over a second; frozen, the collector leaves them to the process's end.
gc.freeze()
sys.exit(code)
