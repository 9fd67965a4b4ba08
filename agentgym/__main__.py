"""``python -m agentgym`` runs the command line."""

from agentgym.cli.main import main

main()
