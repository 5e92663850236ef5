"""The web app for the person scoring candidates: pages, forms and templates (no models).

A front door like the /v1 API, the command line and the admin: views read through
`evaluations.selectors` and write through `evaluations.services`."""
