"""``python -m loadtests`` is the release gate (same options as ``python -m loadtests.gate``)."""

import sys

from loadtests.gate import main

sys.exit(main())
