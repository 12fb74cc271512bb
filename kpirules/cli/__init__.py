"""The ``kpirules`` command line. Each command lives in its own module of this package and
is imported only when it runs, so ``kpirules --help`` and every command start quickly."""
