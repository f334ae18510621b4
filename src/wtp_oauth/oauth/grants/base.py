"""What a grant is to the token endpoint (RFC 6749 §4): declare, parse, redeem, respond."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from wtp_oauth.oauth.clients import ClientCheck
from wtp_oauth.oauth.context import OAuthContext
from wtp_oauth.oauth.records import Checked, ClientRecord
from wtp_oauth.oauth.tokens import TokenResponse

RequestT = TypeVar("RequestT")
RedeemedT = TypeVar("RedeemedT")


class Grant(Protocol[RequestT, RedeemedT]):
    """One grant type of the token endpoint.

    The endpoint (``oauth/endpoints/token.py``) calls :meth:`parse`, then :meth:`redeem`,
    whose one storage call does the grant's work only if the client's authentication holds
    and returns what it looked at; then it authenticates the client from that answer, once,
    and hands the authenticated client to :meth:`respond`, which answers or explains a
    refusal through the grant's rules.
    """

    #: RFC 6749 / RFC 8628 name, as in ``grant_type``.
    grant_type: str
    #: The grant's own body parameters and what they mean, for the OpenAPI schema.
    parameters: Mapping[str, str]

    def parse(self, params: Mapping[str, str]) -> RequestT:
        """The grant's parameters, checked (``invalid_request``, …); no I/O."""
        ...

    async def redeem(
        self, request: RequestT, client: ClientCheck, ctx: OAuthContext
    ) -> Checked[RedeemedT]:
        """The grant's storage call, guarded by ``client``."""
        ...

    async def respond(
        self,
        request: RequestT,
        client: ClientRecord,
        redeemed: RedeemedT | None,
        ctx: OAuthContext,
    ) -> TokenResponse:
        """The token response, or the error the grant's rules give for what was redeemed."""
        ...


class LookupGrant:
    """For grants whose work needs no guarded statement: :meth:`redeem` only looks the client
    up, and :meth:`respond` does the work with the authenticated client."""

    async def redeem(self, request: Any, client: ClientCheck, ctx: OAuthContext) -> Checked[None]:
        return Checked(await ctx.store.find_client(client))
