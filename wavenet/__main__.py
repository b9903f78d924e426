import sys

from wavenet.cli import main

sys.exit(main())
