"""What several test modules share, as plain modules with public names.

`conftest.py` keeps the fixtures; a test module imports helpers from here, never from
`conftest` or from another test module.

- `files`: writing and reading CSV and JSONL files, the public data in ../shared/data.
- `runs`: uploading files and starting runs and batches through the service layer.
- `processes`: `manage.py` in subprocesses, and reading their database from outside.
- `browser`: Chromium for the browser tests, and waiting for htmx to settle.
- `mail`: a real local SMTP server that keeps what it receives.
"""
