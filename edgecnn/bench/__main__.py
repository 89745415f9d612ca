import sys

from edgecnn.bench.cli import main

sys.exit(main())
