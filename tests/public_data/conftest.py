"""Tests of the public files in ../shared/data (files nobody here wrote; see its README).

Collected only with `--public-data` (`make test-public-data`, which `.ci/run` also runs):
a clone of the repository has no ../shared beside it, and `make test` reads nothing
outside the repository. The quirks these files taught us live on in the suite's own
fixtures (`tests/fixtures/`)."""
