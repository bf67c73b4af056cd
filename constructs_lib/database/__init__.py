"""The database constructs (Aurora Serverless v2 with or without RDS Proxy; an imported express cluster), defaults, budget."""
from . import budget, defaults
from .construct import ServerlessDatabase, validate_db_user
from .express import ExpressDatabase
from .migrations import DatabaseMigrations

__all__ = ["DatabaseMigrations", "ExpressDatabase", "ServerlessDatabase", "budget", "defaults", "validate_db_user"]
