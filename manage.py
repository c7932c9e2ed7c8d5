#!/usr/bin/env python
"""Django's command-line utility; the same as the ``goodwill`` command."""

from goodwill.cli import main

if __name__ == "__main__":
    main()
