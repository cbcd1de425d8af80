"""The portal: PIM's web pages for people — clerks, committees, heads of units, boards and admins — with
personal accounts and sessions, acting on the services' published APIs for the signed-in person."""

from services.portal.app import create_portal_app
from services.portal.upstream import Services

__all__ = ["Services", "create_portal_app"]
