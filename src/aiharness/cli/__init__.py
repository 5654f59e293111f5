"""The ``aiharness`` command line: one module per command group."""
