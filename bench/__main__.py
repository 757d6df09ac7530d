"""Entry point: ``python -m bench [--smoke] [--out FILE]``."""

from __future__ import annotations

import sys

from bench.run import main

sys.exit(main())
