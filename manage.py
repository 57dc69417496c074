#!/usr/bin/env python
"""Same as the `cpms` console script, for those who expect manage.py."""

from cpms.cli import main

if __name__ == "__main__":
    main()
