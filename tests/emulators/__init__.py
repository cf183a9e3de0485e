"""Self-tests of the loopback Jira and PanDA emulators in ``tests/support``."""
