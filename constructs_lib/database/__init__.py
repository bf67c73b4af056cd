"""The database construct (Aurora Serverless v2 + RDS Proxy), its defaults and connection budget."""
from . import budget, defaults
from .construct import ServerlessDatabase, validate_db_user
from .migrations import DatabaseMigrations

__all__ = ["DatabaseMigrations", "ServerlessDatabase", "budget", "defaults", "validate_db_user"]
