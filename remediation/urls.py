"""Pages outside the admin: the live execution page and its catch-up feed."""

from django.urls import path

from remediation import views

app_name = "remediation"

urlpatterns: list = [
    path("executions/<uuid:run_id>/", views.execution_live, name="execution-live"),
    path("executions/<uuid:run_id>/lines", views.execution_lines, name="execution-lines"),
]
