import sys

from ecert.cli import main

sys.exit(main())
