"""The portal: PIM's web pages for people — clerks, committees, heads of units, boards and admins — with
personal accounts and sessions, acting on the services' published APIs for the signed-in person."""

from services.portal.app import ROLE_LABELS, create_portal_app
from services.portal.bootstrap import bootstrap_portal
from services.portal.cli import accounts as accounts_commands
from services.portal.single_sign_on import SingleSignOn
from services.portal.upstream import Services

__all__ = ["ROLE_LABELS", "Services", "SingleSignOn", "accounts_commands", "bootstrap_portal", "create_portal_app"]
