"""The OpenAI-compatible /v1 API: Files, Batches, Models and Chat Completions.

A thin door onto the same services as the web app: batches are Runs of kind `batch`
processed by the same engine. Responses follow OpenAI's published shapes so the official
`openai` SDK works unchanged; every error is `{"error": {"message", "type", "param", "code"}}`.
No models of its own: `auth.py` (Bearer keys, `api_view`), `errors.py` (ApiError and the
JSON 400/404/500 of /v1), `views.py` (the endpoints), `urls.py`.
"""
