"""The custom domain of an API Gateway v2 API (used by LambdaHttpApi and LambdaWebSocketApi), and its defaults."""
from . import defaults
from .construct import ApiDomain, check_domain_props

__all__ = ["ApiDomain", "check_domain_props", "defaults"]
