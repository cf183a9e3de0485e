"""Plain functions behind the commands: services in, plain results out (no printing)."""
