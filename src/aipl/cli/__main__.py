"""`python -m aipl.cli`: the `aipl` command."""

from aipl.cli import main

main()
