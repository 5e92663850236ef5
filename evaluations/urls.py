from __future__ import annotations

from django.urls import path

from . import views

app_name = "evaluations"

urlpatterns = [
    path("", views.runs_list, name="runs"),
    path("runs/new/", views.upload, name="upload"),
    path("uploads/<str:file_id>/", views.prepare, name="prepare"),
    path("uploads/<str:file_id>/check/", views.check_rows, name="check_rows"),
    path("uploads/<str:file_id>/encoding/", views.encoding_preview, name="encoding_preview"),
    path("uploads/<str:file_id>/rejected.csv", views.rejected_rows, name="rejected_rows"),
    path("uploads/<str:file_id>/delete/", views.upload_delete, name="upload_delete"),
    path("runs/<str:public_id>/", views.run_detail, name="run"),
    path("runs/<str:public_id>/progress/", views.run_progress, name="run_progress"),
    path("runs/<str:public_id>/results/", views.run_results, name="run_results"),
    path("runs/<str:public_id>/download.csv", views.run_download, name="run_download"),
    path("runs/<str:public_id>/files/<str:file_id>", views.run_file, name="run_file"),
    path("runs/<str:public_id>/rename/", views.run_rename, name="run_rename"),
    path(
        "runs/<str:public_id>/<str:action>/",
        views.run_control,
        name="run_control",
    ),
    path("runs/<str:public_id>/candidates/<int:item_id>/", views.item_detail, name="item"),
    path("rubrics/", views.rubrics_list, name="rubrics"),
    path("rubrics/new/", views.rubric_edit, name="rubric_new"),
    path("rubrics/<int:pk>/", views.rubric_detail, name="rubric"),
    path("rubrics/<int:pk>/edit/", views.rubric_edit, name="rubric_edit"),
    path("rubrics/<int:pk>/changes/", views.rubric_diff, name="rubric_diff"),
]
