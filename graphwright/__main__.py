"""`python -m graphwright` is the `graphwright` command."""

from graphwright.cli import main

raise SystemExit(main())
