# Lets the tests run from a checkout before the driver is installed.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
