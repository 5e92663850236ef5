from __future__ import annotations

from django.urls import path

from web.views import jobs, results, rubrics, runs, upload

app_name = "web"

urlpatterns = [
    path("", runs.runs_list, name="runs"),
    path("runs/new/", upload.upload, name="upload"),
    path("uploads/<str:file_id>/", upload.prepare, name="prepare"),
    path("uploads/<str:file_id>/check/", upload.check_rows, name="check_rows"),
    path("uploads/<str:file_id>/choices/", upload.prepare_save, name="prepare_save"),
    path("uploads/<str:file_id>/positions/", upload.positions, name="positions"),
    path("uploads/<str:file_id>/positions/map/", upload.position_map, name="position_map"),
    path("uploads/<str:file_id>/encoding/", upload.encoding_preview, name="encoding_preview"),
    path("uploads/<str:file_id>/rejected.csv", upload.rejected_rows, name="rejected_rows"),
    path("uploads/<str:file_id>/delete/", upload.upload_delete, name="upload_delete"),
    path("runs/<str:public_id>/", runs.run_detail, name="run"),
    path("runs/<str:public_id>/progress/", runs.run_progress, name="run_progress"),
    path("runs/<str:public_id>/results/", results.run_results, name="run_results"),
    path("runs/<str:public_id>/download.csv", runs.run_download, name="run_download"),
    path("runs/<str:public_id>/report.csv", runs.run_report, name="run_report"),
    path(
        "runs/<str:public_id>/shortlist.csv",
        results.run_shortlist_download,
        name="run_shortlist_download",
    ),
    path(
        "runs/<str:public_id>/shortlist-per-job.csv",
        results.run_shortlist_per_job_download,
        name="run_shortlist_per_job_download",
    ),
    path("runs/<str:public_id>/files/<str:file_id>", runs.run_file, name="run_file"),
    path("runs/<str:public_id>/rename/", runs.run_rename, name="run_rename"),
    path(
        "runs/<str:public_id>/explain-shortlist/",
        results.run_explain_shortlist,
        name="run_explain_shortlist",
    ),
    # Pause, resume, cancel, retry: after every other runs/<id>/<word>/ address.
    path(
        "runs/<str:public_id>/<str:action>/",
        runs.run_control,
        name="run_control",
    ),
    path("runs/<str:public_id>/candidates/<int:item_id>/", runs.item_detail, name="item"),
    path(
        "runs/<str:public_id>/candidates/<int:item_id>/decision/",
        runs.item_decide,
        name="item_decide",
    ),
    path(
        "runs/<str:public_id>/candidates/<int:item_id>/explain/",
        runs.item_explain,
        name="item_explain",
    ),
    path("rubrics/", rubrics.rubrics_list, name="rubrics"),
    path("rubrics/new/", rubrics.rubric_edit, name="rubric_new"),
    path("rubrics/<int:pk>/", rubrics.rubric_detail, name="rubric"),
    path("rubrics/<int:pk>/edit/", rubrics.rubric_edit, name="rubric_edit"),
    path("rubrics/<int:pk>/changes/", rubrics.rubric_diff, name="rubric_diff"),
    path("jobs/", jobs.jobs_list, name="jobs"),
    path("jobs/new/", jobs.job_edit, name="job_new"),
    path("jobs/import/", jobs.jobs_import, name="jobs_import"),
    path(
        "jobs/import/<str:token>/problems.csv", jobs.jobs_file_problems, name="jobs_file_problems"
    ),
    path("jobs/<int:pk>/", jobs.job_detail, name="job"),
    path("jobs/<int:pk>/edit/", jobs.job_edit, name="job_edit"),
    path("jobs/<int:pk>/changes/", jobs.job_diff, name="job_diff"),
]
