"""python -m tests.azure_double.azcollection: see run.py."""

import sys

from .run import main

sys.exit(main())
