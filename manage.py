#!/usr/bin/env python
"""Django's command-line utility for orgsync."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orgsync.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A configuration error is the operator's to fix: say it plainly, no traceback.
        sys.exit(f"orgsync: configuration error: {exc}")


if __name__ == "__main__":
    main()
