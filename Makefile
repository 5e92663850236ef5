# The two set-up commands (see README): `make run` and `make test`.
.PHONY: install run test test-public-data test-fast lint docs

POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

install:
	./scripts/install.sh

run: install
	.venv/bin/python manage.py serve

# Everything on SQLite (the default), then the database-heavy tests again on PostgreSQL.
# llama.cpp's llama-server (the real server with parallel slots the tests run) is built
# once and cached; `make run` does not need it.
test: install
	./scripts/build-llama-server.sh
	./scripts/test-deps.sh
	.venv/bin/ruff check .
	.venv/bin/python -m pytest
	DATABASE_URL=$(POSTGRES_URL) .venv/bin/python -m pytest tests/test_engine.py tests/test_ingest.py \
		tests/test_web.py tests/test_admin.py tests/test_batches.py tests/test_rubrics.py \
		tests/test_report.py tests/test_review.py tests/test_privacy.py tests/test_duplicates.py \
		tests/test_many_jobs.py tests/test_scoring_clock.py tests/test_injection.py
	# Saved jobs and their matching (the evaluate subprocesses share DATABASE_URL's database).
	DATABASE_URL=$(POSTGRES_URL) .venv/bin/python -m pytest tests/test_jobs_file.py -k "not evaluate"

# The public files of ../shared/data (beside the project on our machines and in CI, never in
# a user's clone): real files nobody here wrote, uploaded, checked, scored and downloaded.
# First that the suite's own fixtures carry the public files' quirks, then every test of the
# 35-column résumé file (marked resumes35) again on the public file itself.
PUBLIC_DATA ?= ../shared/data
test-public-data: install
	./scripts/build-llama-server.sh
	./scripts/test-deps.sh
	.venv/bin/python -m pytest --public-data tests/public_data
	HRBATCH_TEST_RESUMES=$(PUBLIC_DATA)/resume_data_97.csv .venv/bin/python -m pytest -m resumes35

# The edit-test loop: ruff, then every test not marked slow (browser, serve and worker-cluster
# subprocesses, real inference), on SQLite. Uses the .venv `make test` installed.
test-fast:
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -m "not slow"

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# The manual under docs/ as a site, built strictly into build/site/ (a broken link fails it).
# `.venv/bin/python -m mkdocs serve` shows it at http://127.0.0.1:8000 while you edit.
docs: install
	NO_MKDOCS_2_WARNING=1 .venv/bin/python -m mkdocs build --strict
