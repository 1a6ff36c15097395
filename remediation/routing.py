from django.urls import path

from remediation.consumers import ExecutionLogConsumer

websocket_urlpatterns = [
    path("ws/executions/<uuid:run_id>/", ExecutionLogConsumer.as_asgi()),
]
