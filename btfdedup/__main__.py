"""``python -m btfdedup``."""

import sys

from btfdedup.cli.main import main

sys.exit(main())
