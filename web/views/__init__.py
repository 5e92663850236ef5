"""The web app's views, by page area; views are thin: selectors read, services write.

- `accounts`: the password reset page (e-mail only, throttled)
- `access`: what the signed-in person may see (404, not 403), safe `next` links
- `upload`: upload a file, check it (columns, rubric, model, row problems), start a run
- `runs`: the runs list, a run's progress and controls, its downloads, one candidate
- `results`: a run's results table (filters, sorting, the shortlist)
- `rubrics`: rubrics, their versions and changes, the rubric editor
"""
