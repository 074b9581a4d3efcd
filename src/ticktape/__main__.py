"""``python -m ticktape`` runs the CLI."""

from ticktape.cli import main

raise SystemExit(main())
