"""Microsoft.Authorization roleAssignments at any scope, and the built-in role definitions the project uses.

A role assignment is named by a GUID the client picks; ARM refuses a second assignment of the same role
to the same principal at the same scope (409 RoleAssignmentExists, "The role assignment already exists.")
and refuses to change an assignment's principal, role or scope (400 RoleAssignmentUpdateNotPermitted).
Writes are synchronous: 201 on create and on update alike (recorded). Lists take `$filter=atScope()` or
`principalId eq '<id>'`.
The double checks that the scope's resource group exists, not the resource itself (*unverified*), and
accepts any GUID as a principal (Azure looks it up in the directory).
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from ..arm import list_body
from ..http import Request, Response, arm_error
from .resources import group_id, group_not_found

if TYPE_CHECKING:
    from ..server import AzureDouble

NS = "Microsoft.Authorization"
ASSIGNMENT_TYPE = f"{NS}/roleAssignments"
DEFINITION_TYPE = f"{NS}/roleDefinitions"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
# Built-in roles (their GUIDs are the same in every tenant) -> (name, description, actions).
PULL = "Microsoft.ContainerRegistry/registries/pull/read"
BUILT_IN_ROLES = {
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": ("AcrPull", "acr pull", [PULL]),
    "8311e382-0749-4cb8-b61a-304f252e45ec": (
        "AcrPush",
        "acr push",
        [PULL, "Microsoft.ContainerRegistry/registries/push/write"],
    ),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": (
        "Reader",
        "View all resources, but does not allow you to make any changes.",
        ["*/read"],
    ),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": (
        "Contributor",
        "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
        ["*"],
    ),
    "4d97b98b-1d4f-4787-a291-c67834d212e7": (
        "Network Contributor",
        "Lets you manage networks, but not access to them.",
        ["Microsoft.Network/*"],
    ),
}
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal", "ForeignGroup", "Device")
FILTER_PRINCIPAL = re.compile(r"principalId\s+eq\s+'([^']+)'", re.IGNORECASE)
FILTER_ROLE_NAME = re.compile(r"roleName\s+eq\s+'([^']+)'", re.IGNORECASE)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())


def _same(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


class AuthorizationProvider:
    def __init__(self, double: AzureDouble) -> None:
        self.double = double
        self.store = double.store

    def _check_scope(self, scope: str) -> None:
        match = re.match(r"^/subscriptions/([^/]+)(?:/resourceGroups/([^/]+))?", scope, re.IGNORECASE)
        if not match or match.group(1).lower() != self.double.subscription_id.lower():
            raise arm_error(400, "InvalidScope", f"The scope '{scope}' is not valid.")  # *unverified* code
        if match.group(2) and not self.store.exists(group_id(match.group(1), match.group(2))):
            raise group_not_found(match.group(2))

    def _definition(self, role_definition_id: str) -> dict[str, Any]:
        guid = role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
        if guid not in BUILT_IN_ROLES or "/providers/microsoft.authorization/roledefinitions/" not in (
            role_definition_id.lower()
        ):
            raise arm_error(
                400,
                "RoleDefinitionDoesNotExist",
                f"The specified role definition with ID '{guid}' does not exist.",
            )
        name, description, actions = BUILT_IN_ROLES[guid]
        return {
            "properties": {
                "roleName": name,
                "type": "BuiltInRole",
                "description": description,
                "assignableScopes": ["/"],
                "permissions": [
                    {"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}
                ],
                "createdOn": "2018-03-13T19:26:07.0000000Z",
                "updatedOn": "2021-11-11T20:13:49.0000000Z",
                "createdBy": None,
                "updatedBy": None,
            },
            "id": f"/subscriptions/{self.double.subscription_id}/providers/{DEFINITION_TYPE}/{guid}",
            "type": DEFINITION_TYPE,
            "name": guid,
        }

    # --- role assignments ---------------------------------------------------------------------------
    def put_assignment(self, request: Request, params: dict[str, str]) -> Response:
        scope, name = params["scope"], params["name"]
        self._check_scope(scope)
        if not GUID.match(name):
            raise arm_error(
                400,
                "InvalidRoleAssignmentId",
                f"The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID.",
            )
        props = request.json_object().get("properties") or {}
        principal = str(props.get("principalId") or "")
        if not GUID.match(principal):
            raise arm_error(  # *unverified* code
                400, "InvalidPrincipalId", f"The principal ID '{principal}' is not a valid GUID."
            )
        definition = self._definition(str(props.get("roleDefinitionId") or ""))
        principal_type = props.get("principalType") or "User"
        if principal_type not in PRINCIPAL_TYPES:
            raise arm_error(
                400, "InvalidPrincipalType", f"The principal type '{principal_type}' is not valid."
            )
        rid = f"{scope}/providers/{ASSIGNMENT_TYPE}/{name}"
        existing = self.store.get(rid)
        wanted = (principal.lower(), definition["name"], scope.lower())
        if existing:
            have = existing["properties"]
            if (
                have["principalId"].lower(),
                have["roleDefinitionId"].rsplit("/", 1)[-1],
                have["scope"].lower(),
            ) != wanted:
                raise arm_error(
                    400,
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                )
        for other in self._assignments():
            have = other["properties"]
            if (
                not _same(other["id"], rid)
                and (
                    have["principalId"].lower(),
                    have["roleDefinitionId"].rsplit("/", 1)[-1],
                    have["scope"].lower(),
                )
                == wanted
            ):
                raise arm_error(409, "RoleAssignmentExists", "The role assignment already exists.")
        now = _now()
        state = {
            "properties": {
                "roleDefinitionId": definition["id"],
                "principalId": principal,
                "principalType": principal_type,
                "scope": scope,
                "condition": props.get("condition"),
                "conditionVersion": props.get("conditionVersion"),
                "createdOn": (existing or {}).get("properties", {}).get("createdOn") or now,
                "updatedOn": now,
                "createdBy": (existing or {}).get("properties", {}).get("createdBy") or self.double.client_id,
                "updatedBy": self.double.client_id,
                "delegatedManagedIdentityResourceId": None,
                "description": props.get("description"),
            },
            "id": rid,
            "type": ASSIGNMENT_TYPE,
            "name": name,
        }
        self.store.put(rid, state)
        # Recorded (2022-04-01): an update answers 201 like a create, and the PUT answer's createdBy is
        # still null; later reads show the caller there.
        answer = copy.deepcopy(state)
        answer["properties"]["createdBy"] = None
        return Response(201, answer)

    def _assignments(self) -> list[dict[str, Any]]:
        return self.store.matching(lambda k, v: v.get("type") == ASSIGNMENT_TYPE)

    def get_assignment(self, request: Request, params: dict[str, str]) -> Response:
        state = self.store.get(f"{params['scope']}/providers/{ASSIGNMENT_TYPE}/{params['name']}")
        if state is None:
            raise arm_error(
                404, "RoleAssignmentNotFound", f"The role assignment '{params['name']}' is not found."
            )
        return Response(200, state)

    def delete_assignment(self, request: Request, params: dict[str, str]) -> Response:
        rid = f"{params['scope']}/providers/{ASSIGNMENT_TYPE}/{params['name']}"
        state = self.store.get(rid)
        if state is None:
            return Response(204)
        self.store.delete(rid)
        return Response(200, state)

    def list_assignments(self, request: Request, params: dict[str, str]) -> Response:
        """At or above the scope (atScope() and no filter alike here), optionally for one principal."""
        scope = params["scope"].rstrip("/").lower()
        wanted = FILTER_PRINCIPAL.search(request.query.get("$filter", ""))
        found = []
        for state in self._assignments():
            at = state["properties"]["scope"].rstrip("/").lower()
            if not (scope == at or scope.startswith(at + "/")):
                continue
            if wanted and state["properties"]["principalId"].lower() != wanted.group(1).lower():
                continue
            found.append(state)
        return Response(200, list_body(found))

    # --- role definitions ---------------------------------------------------------------------------
    def get_definition(self, request: Request, params: dict[str, str]) -> Response:
        return Response(200, self._definition(f"/providers/{DEFINITION_TYPE}/{params['name']}"))

    def list_definitions(self, request: Request, params: dict[str, str]) -> Response:
        wanted = FILTER_ROLE_NAME.search(request.query.get("$filter", ""))
        definitions = [self._definition(f"/providers/{DEFINITION_TYPE}/{guid}") for guid in BUILT_IN_ROLES]
        if wanted:
            definitions = [
                d for d in definitions if d["properties"]["roleName"].lower() == wanted.group(1).lower()
            ]
        return Response(200, list_body(definitions))


def system_identity(requested: Any, resource_id: str, tenant_id: str) -> Any:
    """A resource's `identity` as ARM answers it: a system-assigned one gets a stable principal id."""
    if not isinstance(requested, dict):
        return requested
    identity = dict(requested)
    if "systemassigned" in str(identity.get("type", "")).lower().replace(" ", "").replace(",", ""):
        identity["principalId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "principal:" + resource_id.lower()))
        identity["tenantId"] = tenant_id
    else:
        identity.pop("principalId", None)
        identity.pop("tenantId", None)
    return identity


def register(double: AzureDouble) -> None:
    auth = AuthorizationProvider(double)
    route = double.arm.add
    assignment = f"{{scope*}}/providers/{ASSIGNMENT_TYPE}/{{name}}"
    route("PUT", assignment, auth.put_assignment)
    route("GET", assignment, auth.get_assignment)
    route("DELETE", assignment, auth.delete_assignment)
    route("GET", f"{{scope*}}/providers/{ASSIGNMENT_TYPE}", auth.list_assignments)
    route("GET", f"{{scope*}}/providers/{DEFINITION_TYPE}/{{name}}", auth.get_definition)
    route("GET", f"{{scope*}}/providers/{DEFINITION_TYPE}", auth.list_definitions)
