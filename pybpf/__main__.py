"""``python -m pybpf``: the ``pybpf`` command."""

import sys

from pybpf.tools.cli import main

sys.exit(main())
