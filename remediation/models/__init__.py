from remediation.models.access import Agent, ApiToken, ServiceBudget
from remediation.models.anomaly import Anomaly, Severity
from remediation.models.audit import ActorKind, AuditEvent
from remediation.models.execution import (
    ExecutionEnvironment,
    ExecutionLogLine,
    ExecutionRun,
    RollbackStatus,
    RunStatus,
)
from remediation.models.notification import NotificationRecord
from remediation.models.script import (
    ApprovalDecision,
    ApprovalStatus,
    ConfidenceLevel,
    ExecutionStatus,
    Generator,
    RemediationScript,
    ReviewComment,
    ValidationReport,
    ValidationStatus,
)

__all__ = [
    "ActorKind",
    "Agent",
    "Anomaly",
    "ApiToken",
    "ApprovalDecision",
    "ApprovalStatus",
    "AuditEvent",
    "ConfidenceLevel",
    "ExecutionEnvironment",
    "ExecutionLogLine",
    "ExecutionRun",
    "ExecutionStatus",
    "Generator",
    "NotificationRecord",
    "RemediationScript",
    "ReviewComment",
    "RollbackStatus",
    "RunStatus",
    "ServiceBudget",
    "Severity",
    "ValidationReport",
    "ValidationStatus",
]
