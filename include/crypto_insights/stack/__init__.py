"""Running the whole stack on one machine (`make demo`): processes, their environment and secrets."""
