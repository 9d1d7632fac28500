"""``python -m stockplane`` and the console script."""

import sys

from stockplane.cli import main


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
