"""`python -m server.cli`: the command under a chosen interpreter, as the tests run it."""

import sys

from server.cli.entry import main

sys.exit(main())
