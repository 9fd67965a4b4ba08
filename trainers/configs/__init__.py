"""The demo configurations (YAML files read by :mod:`agentgym.trainers.demo`)."""
