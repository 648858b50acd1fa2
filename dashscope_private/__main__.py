"""``python -m dashscope_private`` works like the ``dashscope-private`` command."""

import sys

from .cli import main

sys.exit(main())
