/**
 * What a run created on the target through its API, kept so the run can remove it afterwards
 * (see `cleanup.ts`): the accounts it registered, and the ciphers, folders, Sends and
 * organizations any of its sessions created, each with the account that created it. Objects a
 * case deleted itself are dropped, so the cleanup does not ask for them again.
 *
 * Login-with-device requests the run made and no device answered are kept too: Vaultwarden
 * cannot delete a user an auth request still names (its `User::delete` leaves them, and the
 * table's foreign key refuses; dani-garcia/vaultwarden src/db/models/user.rs @ 1.37.2
 * (46d71107f5094460dd5ecbe1dbac6e6c71e5189a)), so the cleanup denies them first, which
 * Vaultwarden answers by deleting the request (src/api/core/accounts.rs `put_auth_request`).
 *
 * The record is fed from the API answers themselves: a 2xx answer to a POST whose body is a
 * Bitwarden response model (`object` of `cipher`/`cipherDetails`, `folder`, `send`,
 * `organization`/`profileOrganization`) names a new object, whichever route made it, as
 * Bitwarden and Vaultwarden both tag their response models (bitwarden/server
 * src/Core/Models/Api/Response/ResponseModel.cs @ ac309aa19ed351406a56032d5f26a7a9a99f4abd).
 *
 * @module
 */

import type { ResolvedTarget } from "../types.ts";

/** What the run can remove, in the order the cleanup removes them. */
export type CreatedKind = "organization" | "cipher" | "folder" | "send";

/** An account the run registered, or one of `--accounts` that created something. */
export interface CreatedAccount {
  /** E-mail. */
  readonly email: string;
  /** The master password hash as of now (a case may change the password). */
  passwordHash: string;
  /** True when the run registered it (only those are deleted). */
  readonly registered: boolean;
}

/** One object the run created. */
export interface CreatedObject {
  /** What it is. */
  readonly kind: CreatedKind;
  /** Its id (lowercase). */
  readonly id: string;
  /** The account whose session created it (and can delete it). */
  readonly owner: CreatedAccount;
  /** The organization it belongs to, for an organization cipher. */
  readonly organizationId?: string;
}

const KINDS: Readonly<Record<string, CreatedKind>> = {
  cipher: "cipher",
  cipherdetails: "cipher",
  ciphermini: "cipher",
  cipherminidetails: "cipher",
  folder: "folder",
  send: "send",
  organization: "organization",
  profileorganization: "organization",
};

// `DELETE /ciphers/{id}`, `POST /folders/{id}/delete`, ...: the object is gone (a soft delete,
// `PUT /ciphers/{id}/delete`, leaves it in the trash, so it is not one).
const DELETE_PATH =
  /^\/(ciphers|folders|sends|organizations)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\/delete)?$/i;

// `PUT /auth-requests/{id}`: a device approved or denied the request.
const AUTH_REQUEST_PATH =
  /^\/auth-requests\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/**
 * The record of one run.
 *
 * @example
 * ```ts
 * import { CreatedData } from "./created_data.ts";
 * const data = new CreatedData();
 * const alice = { email: "a@example.com", passwordHash: "h" };
 * data.registered(alice);
 * data.answered(alice, { method: "POST", path: "/folders" }, {
 *   object: "folder",
 *   id: "6f1c4b8e-0000-4000-8000-000000000001",
 * });
 * console.assert(data.objects().length === 1);
 * data.answered(alice, {
 *   method: "DELETE",
 *   path: "/folders/6f1c4b8e-0000-4000-8000-000000000001",
 * }, undefined);
 * console.assert(data.objects().length === 0);
 * ```
 */
export class CreatedData {
  #accounts = new Map<string, CreatedAccount>();
  #objects = new Map<string, CreatedObject>();
  #authRequests = new Map<string, CreatedAccount>();

  /**
   * Records a login-with-device request the run made for an account (anonymously, so no
   * session answer names it).
   *
   * @param account The account asked for.
   * @param id The auth request id.
   */
  authRequested(
    account: { readonly email: string; readonly passwordHash: string },
    id: string,
  ): void {
    this.#authRequests.set(id.toLowerCase(), this.#account(account));
  }

  /**
   * The auth requests no session has answered yet, with the account each was made for.
   *
   * @returns Id and account, in creation order.
   */
  pendingAuthRequests(): { readonly id: string; readonly owner: CreatedAccount }[] {
    return [...this.#authRequests].map(([id, owner]) => ({ id, owner }));
  }

  /**
   * Records an account the run registered.
   *
   * @param account E-mail and master password hash.
   */
  registered(account: { readonly email: string; readonly passwordHash: string }): void {
    this.#accounts.set(account.email.toLowerCase(), {
      email: account.email,
      passwordHash: account.passwordHash,
      registered: true,
    });
  }

  /**
   * Feeds one 2xx API answer of a session: records the object a POST created, drops the one a
   * delete removed, and follows a master password or KDF change.
   *
   * @param account The session's account.
   * @param request Method, path under the API base, and the JSON body sent.
   * @param answer The parsed answer.
   */
  answered(
    account: { readonly email: string; readonly passwordHash: string },
    request: { readonly method: string; readonly path: string; readonly body?: unknown },
    answer: unknown,
  ): void {
    const path = request.path.split("?")[0]!;
    const answeredRequest = AUTH_REQUEST_PATH.exec(path);
    if (answeredRequest && request.method === "PUT") {
      this.#authRequests.delete(answeredRequest[1]!.toLowerCase());
      return;
    }
    const gone = DELETE_PATH.exec(path);
    if (gone && (request.method === "DELETE" || (request.method === "POST" && gone[3]))) {
      this.#objects.delete(gone[2]!.toLowerCase());
      return;
    }
    // A KDF change re-derives the master password hash as a password change does.
    if (request.method === "POST" && (path === "/accounts/password" || path === "/accounts/kdf")) {
      const next = newPasswordHash(request.body);
      const known = this.#accounts.get(account.email.toLowerCase());
      if (known && next !== undefined) known.passwordHash = next;
      return;
    }
    if (request.method !== "POST" || answer === null || typeof answer !== "object") return;
    const model = answer as { object?: unknown; id?: unknown; organizationId?: unknown };
    const kind = typeof model.object === "string" ? KINDS[model.object.toLowerCase()] : undefined;
    if (kind === undefined || typeof model.id !== "string") return;
    const id = model.id.toLowerCase();
    if (this.#objects.has(id)) return;
    this.#objects.set(id, {
      kind,
      id,
      owner: this.#account(account),
      ...(typeof model.organizationId === "string" && kind === "cipher"
        ? { organizationId: model.organizationId.toLowerCase() }
        : {}),
    });
  }

  /**
   * The accounts the run registered.
   *
   * @returns Them, in registration order.
   */
  registeredAccounts(): CreatedAccount[] {
    return [...this.#accounts.values()].filter((a) => a.registered);
  }

  /**
   * The objects still there as far as the run knows.
   *
   * @returns Them, in creation order.
   */
  objects(): CreatedObject[] {
    return [...this.#objects.values()];
  }

  #account(account: { readonly email: string; readonly passwordHash: string }): CreatedAccount {
    const key = account.email.toLowerCase();
    let known = this.#accounts.get(key);
    if (!known) {
      known = { email: account.email, passwordHash: account.passwordHash, registered: false };
      this.#accounts.set(key, known);
    }
    return known;
  }
}

/** The new hash of a password change: the legacy body or the newer `authenticationData`. */
function newPasswordHash(body: unknown): string | undefined {
  if (body === null || typeof body !== "object") return undefined;
  const record = body as {
    newMasterPasswordHash?: unknown;
    authenticationData?: { masterPasswordAuthenticationHash?: unknown };
  };
  const next = record.newMasterPasswordHash ??
    record.authenticationData?.masterPasswordAuthenticationHash;
  return typeof next === "string" ? next : undefined;
}

// One record per resolved target object: the runner hands the same object to every case of a run.
const RECORDS = new WeakMap<ResolvedTarget, CreatedData>();

/**
 * The record of what a run created.
 *
 * @param target The run's resolved target.
 * @returns Its record.
 */
export function createdData(target: ResolvedTarget): CreatedData {
  let record = RECORDS.get(target);
  if (!record) {
    record = new CreatedData();
    RECORDS.set(target, record);
  }
  return record;
}
