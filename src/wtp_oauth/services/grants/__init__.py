"""The token endpoint's grants. Adding one is a module plus a line in ``GRANTS``."""

from wtp_oauth.oauth.grants.device_code.grant import DeviceCodeGrant
from wtp_oauth.services.grants.authorization_code import AuthorizationCodeGrant
from wtp_oauth.services.grants.base import GrantEnv, GrantHandler, TokenResponse
from wtp_oauth.services.grants.refresh_token import RefreshTokenGrant

GRANTS: dict[str, GrantHandler] = {
    grant.grant_type: grant
    for grant in (AuthorizationCodeGrant(), RefreshTokenGrant(), DeviceCodeGrant())
}

__all__ = ["GRANTS", "GrantEnv", "GrantHandler", "TokenResponse"]
