"""Product settings: generation, validation, execution limits, routing policy, notifications."""

from config.env import env_bool, env_choice, env_int, env_list, env_secret, env_size, env_str

# --- generation -------------------------------------------------------------------------------
SCRIPT_GENERATION_MODEL = env_str("SCRIPT_GENERATION_MODEL", "gpt-4o")
OPENAI_API_KEY = env_secret("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_TIMEOUT_SECONDS = env_int("OPENAI_TIMEOUT_SECONDS", 60, minimum=1)
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 4, minimum=0)
EMBEDDING_BACKEND = env_choice("EMBEDDING_BACKEND", "auto", ("auto", "openai", "local", "lexical"))
#: Rounds in which validation findings are fed back to the LLM before a script is stored FAILED.
LLM_REPAIR_ROUNDS = env_int("LLM_REPAIR_ROUNDS", 2, minimum=0)

# --- validation -------------------------------------------------------------------------------
VALIDATION_STRICTNESS = env_choice("VALIDATION_STRICTNESS", "HIGH", ("LOW", "MEDIUM", "HIGH"))

# --- execution --------------------------------------------------------------------------------
MAX_SCRIPT_EXECUTION_TIME = env_int("MAX_SCRIPT_EXECUTION_TIME", 300, minimum=1)
SCRIPT_EXECUTION_MEMORY_LIMIT = env_size("SCRIPT_EXECUTION_MEMORY_LIMIT", "512MB")
#: local: bubblewrap on the worker; kubernetes: a Job per run; agent: bash/python scripts wait for
#: agents on the hosts to claim them through the API (SQL, config patches, manifests still run here).
SANDBOX_BACKEND = env_choice("SANDBOX_BACKEND", "local", ("local", "kubernetes", "agent"))
KUBERNETES_SANDBOX_CONFIG = env_str("KUBERNETES_SANDBOX_CONFIG")
KUBERNETES_SANDBOX_NAMESPACE = env_str("KUBERNETES_SANDBOX_NAMESPACE", "remediation-sandbox")
#: How long a claimed execution lease lasts without a heartbeat.
EXECUTION_LEASE_SECONDS = env_int("EXECUTION_LEASE_SECONDS", 60, minimum=5)

# --- routing policy ---------------------------------------------------------------------------
#: Services whose HIGH-confidence scripts are still never executed without a person (e.g. payments).
NEVER_AUTO_EXECUTE_SERVICES = env_list("NEVER_AUTO_EXECUTE_SERVICES")
#: Script languages that always need a person, whatever the confidence.
NEVER_AUTO_EXECUTE_LANGUAGES = env_list("NEVER_AUTO_EXECUTE_LANGUAGES", ("sql",))
AUTO_EXECUTE_HIGH = env_bool("AUTO_EXECUTE_HIGH", True)
#: Hours before a pending approval escalates, and before it expires.
APPROVAL_ESCALATE_AFTER_HOURS = env_int("APPROVAL_ESCALATE_AFTER_HOURS", 4, minimum=1)
APPROVAL_EXPIRE_AFTER_HOURS = env_int("APPROVAL_EXPIRE_AFTER_HOURS", 24, minimum=1)
#: Minutes before expiry when supervisors are warned that an approval is about to expire.
APPROVAL_EXPIRING_NOTICE_MINUTES = env_int("APPROVAL_EXPIRING_NOTICE_MINUTES", 60, minimum=1)
#: LOW-confidence scripts need this many distinct supervisors to approve.
LOW_CONFIDENCE_QUORUM = env_int("LOW_CONFIDENCE_QUORUM", 1, minimum=1)

#: category -> name of a template to fall back on when nothing else produces a script,
#: e.g. GENERATION_FALLBACK_TEMPLATES=clock_skew:service_down_restart_unit,other:another_template
GENERATION_FALLBACK_TEMPLATES = dict(
    item.split(":", 1) for item in env_list("GENERATION_FALLBACK_TEMPLATES") if ":" in item
)

# --- templates --------------------------------------------------------------------------------
TEMPLATE_QUARANTINE_CONSECUTIVE_FAILURES = env_int("TEMPLATE_QUARANTINE_CONSECUTIVE_FAILURES", 3, minimum=1)
TEMPLATE_QUARANTINE_MIN_RUNS = env_int("TEMPLATE_QUARANTINE_MIN_RUNS", 10, minimum=1)
TEMPLATE_QUARANTINE_MIN_SUCCESS_PERCENT = env_int("TEMPLATE_QUARANTINE_MIN_SUCCESS_PERCENT", 60, minimum=0)
TEMPLATE_PROMOTION_SUCCESSES = env_int("TEMPLATE_PROMOTION_SUCCESSES", 3, minimum=1)

# --- notifications ----------------------------------------------------------------------------
#: Public base URL used in notification links.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
#: kubeconfig of the cluster Kubernetes remediations are applied to (unset: in-cluster credentials).
KUBERNETES_TARGET_CONFIG = env_str("KUBERNETES_TARGET_CONFIG")
