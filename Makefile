# The two set-up commands (see README): `make run` and `make test`.
.PHONY: install run test lint bench

install:
	./scripts/install.sh

run: install
	.venv/bin/python manage.py serve

test: install
	.venv/bin/python -m pytest

lint:
	.venv/bin/ruff check .
