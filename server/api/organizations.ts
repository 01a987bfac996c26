/**
 * Organization routes: create (6 SyncOrgKeys to the owner), invite / accept / confirm
 * (6 to the confirmed member) / remove, revoke and restore (6 to the member), collection-management
 * settings (19 to `Organization_{id}`), policies (25 to `Organization_{id}`) and deletion (no push)
 * (research bitwarden-api.md §3.7-§3.9).
 *
 * Hubproof sends no e-mail: inviting a registered user makes them Accepted at once (as
 * Vaultwarden does with mail disabled); an invite to an unknown address logs its token.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { PushType } from "../../protocol/bitwarden/mod.ts";
import type { PushNotification } from "../push/types.ts";
import { type ApiDeps, guidParam, iso } from "./_deps.ts";
import { requireUserSecret } from "./_secret.ts";
import type { UserContext } from "./context.ts";
import { grantRefusal, hasPermission, removalRefusal } from "./organization_permissions.ts";
import {
  badRequest,
  emptyOk,
  field,
  HttpError,
  type JsonObject,
  jsonResponse,
  modelStateError,
  notFound,
  readJsonObject,
} from "../kernel/http.ts";
import type { Router } from "../kernel/router.ts";
import {
  type Membership,
  MemberStatus,
  MemberType,
  newId,
  type Organization,
  type Policy,
} from "../kernel/store.ts";
import { ModelState } from "../kernel/validation.ts";

/**
 * The organization response model.
 *
 * @param org The organization.
 * @returns The model.
 */
export function organizationResponse(org: Organization): Record<string, unknown> {
  return {
    object: "organization",
    id: org.id,
    name: org.name,
    billingEmail: org.billingEmail,
    planType: org.planType,
    enabled: org.enabled,
    usePolicies: org.usePolicies,
    limitCollectionCreation: org.limitCollectionCreation,
    limitCollectionDeletion: org.limitCollectionDeletion,
    limitItemDeletion: org.limitItemDeletion,
    allowAdminAccessToAllCollectionItems: org.allowAdminAccessToAllCollectionItems,
  };
}

/**
 * The profile's organization entry of a membership.
 *
 * @param deps Dependencies.
 * @param m The membership.
 * @returns The model.
 */
export function organizationProfile(deps: ApiDeps, m: Membership): Record<string, unknown> {
  const org = deps.store.organizations.get(m.organizationId)!;
  return {
    object: "profileOrganization",
    id: org.id,
    name: org.name,
    enabled: org.enabled,
    usePolicies: org.usePolicies,
    key: m.key,
    status: m.status,
    type: m.type,
    organizationUserId: m.id,
    userId: m.userId,
    permissions: m.permissions,
  };
}

/**
 * The policy response model.
 *
 * @param policy The policy.
 * @returns The model.
 */
export function policyResponse(policy: Policy): Record<string, unknown> {
  return {
    object: "policy",
    id: policy.id,
    organizationId: policy.organizationId,
    type: policy.type,
    data: policy.data === null ? null : JSON.parse(policy.data),
    enabled: policy.enabled,
    revisionDate: iso(policy.revisionDate),
  };
}

function memberResponse(deps: ApiDeps, m: Membership): Record<string, unknown> {
  const user = m.userId ? deps.store.users.get(m.userId) : undefined;
  return {
    object: "organizationUserUserDetails",
    id: m.id,
    userId: m.userId,
    email: m.email,
    name: user?.name ?? null,
    type: m.type,
    status: m.status,
    permissions: m.permissions,
    collections: m.collectionIds.map((id) => ({
      id,
      readOnly: false,
      hidePasswords: false,
      manage: false,
    })),
  };
}

/**
 * A 6 SyncOrgKeys push to a user (`{UserId, Date}`, current context not excluded).
 *
 * @param userId The user.
 * @param date The date.
 * @returns The push request.
 */
export function syncOrgKeysPush(userId: string, date: Date): PushNotification {
  return {
    type: PushType.SyncOrgKeys,
    target: "user",
    targetId: userId,
    payload: { UserId: userId, Date: iso(date) },
    excludeCurrentContext: false,
  };
}

const forbidden = () => new HttpError(403, null);

/**
 * Adds the organization routes.
 *
 * @param router The API router.
 * @param deps Dependencies.
 */
export function addOrganizationRoutes(router: Router, deps: ApiDeps): void {
  const { store } = deps;

  function organization(id: string | undefined): Organization {
    const org = store.organizations.get(guidParam(id));
    if (!org) throw notFound();
    return org;
  }

  function membership(ctx: UserContext, org: Organization): Membership | undefined {
    return store.confirmedMembership(org.id, ctx.user.id);
  }

  /** Throws Bitwarden's 400 when a rule of `organization_permissions.ts` refuses. */
  function refuse(refusal: string | null): void {
    if (refusal !== null) throw badRequest(refusal);
  }

  router.on("POST", "/organizations", async (request) => {
    const ctx = await deps.auth.user(request);
    const state = new ModelState(await readJsonObject(request));
    const name = state.string("name", { required: true, max: 50 });
    const billingEmail = state.string("billingEmail", { required: true, email: true, max: 256 });
    const orgKey = state.string("key", { required: true });
    const keys = state.object("keys", { required: true });
    const planType = state.int("planType");
    const collectionName = state.string("collectionName", { encString: true });
    if (keys) {
      const nested = new ModelState(keys);
      nested.string("publicKey", { required: true });
      nested.string("encryptedPrivateKey", { required: true });
      if (!nested.valid) state.add("Keys", "PublicKey and EncryptedPrivateKey are required.");
    }
    state.throwIfInvalid();
    const now = deps.now();
    const org: Organization = {
      id: newId(),
      name: name!,
      billingEmail: billingEmail!,
      enabled: true,
      usePolicies: true,
      planType: planType ?? 0,
      limitCollectionCreation: false,
      limitCollectionDeletion: false,
      limitItemDeletion: false,
      allowAdminAccessToAllCollectionItems: true,
      publicKey: field(keys!, "publicKey") as string,
      privateKey: field(keys!, "encryptedPrivateKey") as string,
      creationDate: now,
      revisionDate: now,
    };
    store.organizations.set(org.id, org);
    const collectionIds: string[] = [];
    if (collectionName !== null) {
      const id = newId();
      store.collections.set(id, { id, organizationId: org.id, name: collectionName });
      collectionIds.push(id);
    }
    const m: Membership = {
      id: newId(),
      organizationId: org.id,
      userId: ctx.user.id,
      email: ctx.user.email,
      type: MemberType.Owner,
      status: MemberStatus.Confirmed,
      key: orgKey,
      permissions: null,
      collectionIds,
      inviteToken: null,
    };
    store.memberships.set(m.id, m);
    await deps.push(syncOrgKeysPush(ctx.user.id, now));
    return jsonResponse(organizationResponse(org));
  });

  router.on("GET", "/organizations/:orgId", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const org = organization(params.orgId);
    if (!membership(ctx, org)) throw notFound();
    return jsonResponse(organizationResponse(org));
  });

  // bitwarden/server src/Api/AdminConsole/Controllers/OrganizationsController.cs `Delete` /
  // `PostDelete` @ ac309aa19ed351406a56032d5f26a7a9a99f4abd: owners only (others get 404), the
  // master password again, and OrganizationDeleteCommand pushes nothing.
  const deleteOrganization = async (request: Request, params: Record<string, string>) => {
    const ctx = await deps.auth.user(request);
    const org = organization(params.orgId);
    if (membership(ctx, org)?.type !== MemberType.Owner) throw notFound();
    await requireUserSecret(request, ctx.user);
    store.deleteOrganization(org.id);
    return emptyOk();
  };
  router.on("DELETE", "/organizations/:orgId", deleteOrganization);
  router.on("POST", "/organizations/:orgId/delete", deleteOrganization);

  router.on("GET", "/organizations/:orgId/users", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const org = organization(params.orgId);
    if (!hasPermission(membership(ctx, org), "manageUsers")) throw forbidden();
    const data = store.membersOf(org.id).map((m) => memberResponse(deps, m));
    return jsonResponse({ object: "list", data, continuationToken: null });
  });

  router.on("POST", "/organizations/:orgId/users/invite", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const body = await readJsonObject(request);
    const org = organization(params.orgId);
    const own = membership(ctx, org);
    if (!hasPermission(own, "manageUsers")) throw forbidden();
    const state = new ModelState(body);
    const type = state.int("type", { required: true, allowed: [0, 1, 2, 4] });
    const emails = field(body, "emails");
    if (emails === undefined || emails === null) {
      state.add("Emails", "The Emails field is required.");
    } else if (
      !Array.isArray(emails) || emails.length === 0 || emails.length > 20 ||
      !emails.every((e) => typeof e === "string" && /^[^\s@]+@[^\s@]+$/.test(e))
    ) state.add("Emails", "Emails must be a list of 1 to 20 e-mail addresses.");
    const collections = field(body, "collections");
    const collectionIds: string[] = [];
    if (Array.isArray(collections)) {
      for (const c of collections) {
        const id = typeof c === "object" && c !== null ? field(c as JsonObject, "id") : undefined;
        if (
          typeof id !== "string" ||
          store.collections.get(id.toLowerCase())?.organizationId !== org.id
        ) {
          state.add("Collections", "Each collection must be a collection of this organization.");
          break;
        }
        collectionIds.push(id.toLowerCase());
      }
    }
    const permissions = state.permissions("permissions");
    state.throwIfInvalid();
    refuse(grantRefusal(own!, type!, permissions));
    for (const raw of emails as string[]) {
      const email = raw.trim().toLowerCase();
      if (store.membersOf(org.id).some((m) => m.email === email)) {
        throw badRequest(`${email} is already a member of this organization.`);
      }
    }
    for (const raw of emails as string[]) {
      const email = raw.trim().toLowerCase();
      const user = store.userByEmail(email);
      const token = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
      const m: Membership = {
        id: newId(),
        organizationId: org.id,
        userId: user?.id ?? null,
        email,
        type: type!,
        status: user ? MemberStatus.Accepted : MemberStatus.Invited,
        key: null,
        permissions,
        collectionIds,
        inviteToken: user ? null : token,
      };
      store.memberships.set(m.id, m);
      if (!user) {
        deps.log(
          "info",
          `Invite e-mail (not sent) to ${email}: organization ${org.id}, organizationUserId ${m.id}, token ${token}`,
        );
      }
    }
    return emptyOk();
  });

  router.on("POST", "/organizations/:orgId/users/:id/accept", async (request, params) => {
    const ctx = await deps.auth.user(request);
    // Body first, then lookup and change in one turn (see folders.ts).
    const state = new ModelState(await readJsonObject(request));
    const org = organization(params.orgId);
    const m = store.memberships.get(guidParam(params.id));
    if (!m || m.organizationId !== org.id) throw notFound();
    const token = state.string("token", { required: true });
    state.throwIfInvalid();
    if (m.status !== MemberStatus.Invited || m.inviteToken === null || m.inviteToken !== token) {
      throw badRequest("Invalid token.");
    }
    if (m.email !== ctx.user.email) throw badRequest("User email does not match invite.");
    m.userId = ctx.user.id;
    m.status = MemberStatus.Accepted;
    m.inviteToken = null;
    return emptyOk();
  });

  router.on("POST", "/organizations/:orgId/users/:id/confirm", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const body = await readJsonObject(request);
    const org = organization(params.orgId);
    if (!hasPermission(membership(ctx, org), "manageUsers")) throw forbidden();
    const m = store.memberships.get(guidParam(params.id));
    if (!m || m.organizationId !== org.id) throw notFound();
    const state = new ModelState(body);
    const key = state.string("key", { required: true });
    state.string("defaultUserCollectionName", { encString: true });
    state.throwIfInvalid();
    if (m.status !== MemberStatus.Accepted || m.userId === null) {
      throw badRequest("User not valid.");
    }
    m.status = MemberStatus.Confirmed;
    m.key = key;
    await deps.push(syncOrgKeysPush(m.userId, deps.now()));
    return emptyOk();
  });

  router.on("DELETE", "/organizations/:orgId/users/:id", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const org = organization(params.orgId);
    const own = membership(ctx, org);
    if (!hasPermission(own, "manageUsers")) throw forbidden();
    const m = store.memberships.get(guidParam(params.id));
    if (!m || m.organizationId !== org.id) throw notFound();
    const confirmedOwners = store.membersOf(org.id).filter((o) =>
      o.type === MemberType.Owner && o.status === MemberStatus.Confirmed
    ).length;
    refuse(removalRefusal(own!, m, confirmedOwners));
    store.memberships.delete(m.id);
    if (m.userId !== null) {
      await deps.push(syncOrgKeysPush(m.userId, deps.now()));
    }
    return emptyOk();
  });

  // bitwarden/server src/Api/AdminConsole/Controllers/OrganizationUsersController.cs
  // `RevokeAsync` / `RestoreAsync` (ManageUsersRequirement, then `RestoreOrRevokeUserAsync`: 404
  // unless the member is of this organization) and RevokeUser/v1/RevokeOrganizationUserCommand.cs,
  // RestoreUser/v1/RestoreOrganizationUserCommand.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd:
  // the same refusals in the same order (their Errors.cs texts), and a SyncOrgKeys push to the
  // member's user either way, so their clients drop or regain the organization's keys at once.
  const revokeOrRestore =
    (revoke: boolean) => async (request: Request, params: Record<string, string>) => {
      const ctx = await deps.auth.user(request);
      const org = organization(params.orgId);
      const own = membership(ctx, org);
      if (!hasPermission(own, "manageUsers")) throw forbidden();
      const m = store.memberships.get(guidParam(params.id));
      if (!m || m.organizationId !== org.id) throw notFound();
      const verb = revoke ? "revoke" : "restore";
      if (m.userId === ctx.user.id) throw badRequest(`You cannot ${verb} yourself.`);
      if (m.type === MemberType.Owner && own!.type !== MemberType.Owner) {
        throw badRequest(`Only owners can ${verb} other owners.`);
      }
      if (m.type === MemberType.Admin && own!.type === MemberType.Custom) {
        throw badRequest(`Custom users can not ${verb} admins.`);
      }
      if (revoke) {
        if (m.status === MemberStatus.Revoked) throw badRequest("Already revoked.");
        const otherOwners = store.membersOf(org.id).some((o) =>
          o.id !== m.id && o.type === MemberType.Owner && o.status === MemberStatus.Confirmed
        );
        if (!otherOwners) throw badRequest("Organization must have at least one confirmed owner.");
        m.status = MemberStatus.Revoked;
      } else {
        if (m.status !== MemberStatus.Revoked) throw badRequest("Already active.");
        // OrganizationUser.GetPriorActiveOrganizationUserStatusType: the status its data implies.
        m.status = m.userId === null
          ? MemberStatus.Invited
          : m.key === null
          ? MemberStatus.Accepted
          : MemberStatus.Confirmed;
      }
      if (m.userId !== null) await deps.push(syncOrgKeysPush(m.userId, deps.now()));
      return emptyOk();
    };
  router.on("PUT", "/organizations/:orgId/users/:id/revoke", revokeOrRestore(true));
  router.on("PUT", "/organizations/:orgId/users/:id/restore", revokeOrRestore(false));

  router.on("PUT", "/organizations/:orgId/collection-management", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const org = organization(params.orgId);
    if (membership(ctx, org)?.type !== MemberType.Owner) throw notFound();
    const state = new ModelState(await readJsonObject(request));
    const creation = state.bool("limitCollectionCreation");
    const deletion = state.bool("limitCollectionDeletion");
    const item = state.bool("limitItemDeletion");
    const admin = state.bool("allowAdminAccessToAllCollectionItems");
    state.throwIfInvalid();
    org.limitCollectionCreation = creation ?? false;
    org.limitCollectionDeletion = deletion ?? false;
    org.limitItemDeletion = item ?? false;
    org.allowAdminAccessToAllCollectionItems = admin ?? false;
    org.revisionDate = deps.now();
    await deps.push({
      type: PushType.SyncOrganizationCollectionSettingChanged,
      target: "organization",
      targetId: org.id,
      payload: {
        OrganizationId: org.id,
        LimitCollectionCreation: org.limitCollectionCreation,
        LimitCollectionDeletion: org.limitCollectionDeletion,
        LimitItemDeletion: org.limitItemDeletion,
      },
      excludeCurrentContext: false,
    });
    return jsonResponse(organizationResponse(org));
  });

  router.on("GET", "/organizations/:orgId/policies", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const org = organization(params.orgId);
    if (!membership(ctx, org)) throw notFound();
    const data = [...store.policies.values()].filter((p) => p.organizationId === org.id).map(
      policyResponse,
    );
    return jsonResponse({ object: "list", data, continuationToken: null });
  });

  router.on("PUT", "/organizations/:orgId/policies/:type", async (request, params) => {
    const ctx = await deps.auth.user(request);
    const org = organization(params.orgId);
    const type = Number(params.type);
    if (!/^\d+$/.test(params.type ?? "") || type > 22) {
      throw modelStateError({ type: [`The value '${params.type}' is not valid for type.`] });
    }
    if (!hasPermission(membership(ctx, org), "managePolicies")) throw forbidden();
    const body = await readJsonObject(request);
    const outer = new ModelState(body);
    const policy = outer.object("policy", { required: true });
    outer.throwIfInvalid();
    const state = new ModelState(policy!);
    const enabled = state.bool("enabled", { required: true });
    const data = field(policy!, "data");
    if (data !== undefined && data !== null && (typeof data !== "object" || Array.isArray(data))) {
      state.add("Data", "The JSON value could not be converted to Dictionary<string, object>.");
    }
    state.throwIfInvalid();
    if (!org.usePolicies) throw badRequest("This organization cannot use policies.");
    const key = `${org.id}:${type}`;
    const now = deps.now();
    const existing = store.policies.get(key);
    const saved: Policy = existing ?? {
      id: newId(),
      organizationId: org.id,
      type,
      data: null,
      enabled: false,
      creationDate: now,
      revisionDate: now,
    };
    saved.enabled = enabled!;
    saved.data = data === undefined || data === null ? null : JSON.stringify(data);
    saved.revisionDate = now;
    store.policies.set(key, saved);
    await deps.push({
      type: PushType.PolicyChanged,
      target: "organization",
      targetId: org.id,
      payload: {
        OrganizationId: org.id,
        Policy: {
          Id: saved.id,
          OrganizationId: saved.organizationId,
          Type: saved.type,
          Data: saved.data,
          Enabled: saved.enabled,
          CreationDate: iso(saved.creationDate),
          RevisionDate: iso(saved.revisionDate),
        },
      },
      excludeCurrentContext: false,
    });
    return jsonResponse(policyResponse(saved));
  });
}
