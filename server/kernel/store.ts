/**
 * The reference server's in-memory data: accounts, devices, organizations, vault items,
 * login-with-device requests and notification-center items. Nothing is persisted: a restart
 * starts again from `fixtures/`. Identity and API share one instance in a process.
 *
 * @module
 */

/** KDF settings of an account (`KdfType` PBKDF2_SHA256 = 0, Argon2id = 1). */
export interface KdfSettings {
  /** KdfType. */
  readonly kdf: 0 | 1;
  /** Iterations. */
  readonly iterations: number;
  /** Argon2id memory (MiB) or null. */
  readonly memory: number | null;
  /** Argon2id parallelism or null. */
  readonly parallelism: number | null;
}

/** A server-side hash of the client's master password hash. */
export interface StoredSecret {
  /** Base64 PBKDF2-SHA256 output. */
  readonly hash: string;
  /** Base64 random salt. */
  readonly salt: string;
  /** PBKDF2 iterations. */
  readonly iterations: number;
}

/** An account. */
export interface User {
  /** Lowercase GUID. */
  readonly id: string;
  /** Lowercased e-mail. */
  email: string;
  /** Display name or null. */
  name: string | null;
  /** E-mail verified. */
  emailVerified: boolean;
  /** Premium. */
  premium: boolean;
  /** Security stamp (a GUID string), rotated by `/accounts/security-stamp`. */
  securityStamp: string;
  /** Hash of the master password hash. */
  masterPassword: StoredSecret;
  /** Master password hint. */
  masterPasswordHint: string | null;
  /** KDF settings. */
  kdf: KdfSettings;
  /** `MasterPasswordSalt` (null when registered with root-level fields). */
  salt: string | null;
  /** User key wrapped by the master key. */
  key: string | null;
  /** Account public key. */
  publicKey: string | null;
  /** Encrypted account private key. */
  privateKey: string | null;
  /** Equivalent-domain settings (`PUT /settings/domains`). */
  equivalentDomains: string[][] | null;
  /** Creation date. */
  readonly creationDate: Date;
  /** Revision date. */
  revisionDate: Date;
}

/** A device a user logged in from. */
export interface Device {
  /** Lowercase GUID. */
  readonly id: string;
  /** Owner. */
  readonly userId: string;
  /** The client's appId (`deviceIdentifier`). */
  readonly identifier: string;
  /** DeviceType number. */
  type: number;
  /** Device name. */
  name: string;
  /** Creation date. */
  readonly creationDate: Date;
}

/** Organization member types. */
export const MemberType = { Owner: 0, Admin: 1, User: 2, Custom: 4 } as const;
/** Organization member statuses. */
export const MemberStatus = { Invited: 0, Accepted: 1, Confirmed: 2, Revoked: -1 } as const;

/**
 * The custom permissions of a Custom member (`Permissions` model), camelCase. Each granted one
 * becomes a token claim of the same name lowercased (`Claims.CustomPermissions`); no other
 * name ever does.
 */
export const CUSTOM_PERMISSIONS = [
  "accessEventLogs",
  "accessImportExport",
  "accessReports",
  "createNewCollections",
  "editAnyCollection",
  "deleteAnyCollection",
  "manageGroups",
  "managePolicies",
  "manageSso",
  "manageUsers",
  "manageResetPassword",
  "manageScim",
] as const;

/** One of {@linkcode CUSTOM_PERMISSIONS}. */
export type CustomPermission = typeof CUSTOM_PERMISSIONS[number];

/** An organization. */
export interface Organization {
  /** Lowercase GUID. */
  readonly id: string;
  /** Name. */
  name: string;
  /** Billing e-mail. */
  billingEmail: string;
  /** Enabled (billing status). */
  enabled: boolean;
  /** Whether policies may be used. */
  usePolicies: boolean;
  /** Plan type number. */
  planType: number;
  /** Collection-management settings. */
  limitCollectionCreation: boolean;
  /** Collection-management settings. */
  limitCollectionDeletion: boolean;
  /** Collection-management settings. */
  limitItemDeletion: boolean;
  /** Collection-management settings. */
  allowAdminAccessToAllCollectionItems: boolean;
  /** Organization public key. */
  publicKey: string | null;
  /** Encrypted organization private key. */
  privateKey: string | null;
  /** Creation date. */
  readonly creationDate: Date;
  /** Revision date. */
  revisionDate: Date;
}

/** A membership (`OrganizationUser`). */
export interface Membership {
  /** Organization-user id (lowercase GUID). */
  readonly id: string;
  /** Organization. */
  readonly organizationId: string;
  /** User id once known (null for an invite to an unregistered address). */
  userId: string | null;
  /** Invited e-mail. */
  email: string;
  /** MemberType. */
  type: number;
  /** MemberStatus. */
  status: number;
  /** Organization key encrypted to the member (set on confirm). */
  key: string | null;
  /** Custom permissions: every {@linkcode CUSTOM_PERMISSIONS} name, or null. */
  permissions: Readonly<Record<CustomPermission, boolean>> | null;
  /** Collections the member can access. */
  collectionIds: string[];
  /** Invite token (the e-mail's token; logged, since hubproof sends no mail). */
  inviteToken: string | null;
}

/** A collection. */
export interface Collection {
  /** Lowercase GUID. */
  readonly id: string;
  /** Organization. */
  readonly organizationId: string;
  /** Encrypted name. */
  name: string;
}

/** A folder. */
export interface Folder {
  /** Lowercase GUID. */
  readonly id: string;
  /** Owner. */
  readonly userId: string;
  /** Encrypted name. */
  name: string;
  /** Revision date. */
  revisionDate: Date;
}

/** A cipher (vault item); the type-specific data is kept as the client sent it. */
export interface Cipher {
  /** Lowercase GUID. */
  readonly id: string;
  /** Owner for a personal cipher, else null. */
  userId: string | null;
  /** Organization for an organization cipher, else null. */
  organizationId: string | null;
  /** CipherType. */
  type: number;
  /** The request fields other than ids (name, notes, login, ...), camelCase. */
  data: Record<string, unknown>;
  /** Folder (per user; kept for the owner only). */
  folderId: string | null;
  /** Favorite. */
  favorite: boolean;
  /** Reprompt. */
  reprompt: number;
  /** Cipher key. */
  key: string | null;
  /** Collections of an organization cipher. */
  collectionIds: string[];
  /** Creation date. */
  readonly creationDate: Date;
  /** Revision date. */
  revisionDate: Date;
  /** Soft-delete date. */
  deletedDate: Date | null;
}

/** A Send. */
export interface Send {
  /** Lowercase GUID. */
  readonly id: string;
  /** Owner. */
  readonly userId: string;
  /** SendType (0 text, 1 file). */
  readonly type: number;
  /** The request fields (key, name, notes, text, ...), camelCase. */
  data: Record<string, unknown>;
  /** Deletion date. */
  deletionDate: Date;
  /** Expiration date. */
  expirationDate: Date | null;
  /** Disabled. */
  disabled: boolean;
  /** Whether a password is set. */
  hasPassword: boolean;
  /** Revision date. */
  revisionDate: Date;
}

/** A login-with-device request (`AuthRequest`). */
export interface AuthRequest {
  /** Lowercase GUID. */
  readonly id: string;
  /** The account asked for. */
  readonly userId: string;
  /** AuthRequestType (0 AuthenticateAndUnlock, 1 Unlock). */
  readonly type: number;
  /** Requesting device identifier. */
  readonly requestDeviceIdentifier: string;
  /** Requesting DeviceType. */
  readonly requestDeviceType: number;
  /** Requesting IP. */
  readonly requestIpAddress: string | null;
  /** Requesting device public key. */
  readonly publicKey: string;
  /** Access code (the grant's `password`). */
  readonly accessCode: string;
  /** Encrypted user key, once approved. */
  key: string | null;
  /** Encrypted master password hash, once approved. */
  masterPasswordHash: string | null;
  /** Approved, denied or null while pending. */
  approved: boolean | null;
  /** Approving device. */
  responseDeviceId: string | null;
  /** Creation date. */
  readonly creationDate: Date;
  /** Response date. */
  responseDate: Date | null;
  /** When the approval was used to log in (single use). */
  authenticationDate: Date | null;
}

/** An organization policy. */
export interface Policy {
  /** Lowercase GUID. */
  readonly id: string;
  /** Organization. */
  readonly organizationId: string;
  /** PolicyType. */
  readonly type: number;
  /** JSON string or null. */
  data: string | null;
  /** Enabled. */
  enabled: boolean;
  /** Creation date. */
  readonly creationDate: Date;
  /** Revision date. */
  revisionDate: Date;
}

/** A notification-center notification. */
export interface CenterNotification {
  /** Lowercase GUID. */
  readonly id: string;
  /** Priority (0 Informational .. 4 Critical). */
  readonly priority: number;
  /** Global (installation-wide). */
  readonly global: boolean;
  /** ClientType it is meant for (0 All). */
  readonly clientType: number;
  /** Target user or null. */
  readonly userId: string | null;
  /** Target organization or null. */
  readonly organizationId: string | null;
  /** Installation, set when global. */
  readonly installationId: string | null;
  /** Security task or null. */
  readonly taskId: string | null;
  /** Title. */
  readonly title: string | null;
  /** Body. */
  readonly body: string | null;
  /** Creation date. */
  readonly creationDate: Date;
  /** Revision date. */
  readonly revisionDate: Date;
}

/** A user's read/deleted status of a notification. */
export interface NotificationStatus {
  /** Read date. */
  readDate: Date | null;
  /** Deleted date. */
  deletedDate: Date | null;
}

/** A refresh-token grant (opaque handle, re-used on refresh as Duende's `ReUse`). */
export interface RefreshGrant {
  /** Owner. */
  readonly userId: string;
  /** Client id (`web`, `desktop`, ...). */
  readonly clientId: string;
  /** Device identifier. */
  readonly deviceIdentifier: string;
  /** Granted scopes. */
  readonly scopes: readonly string[];
  /** Security stamp when issued; a changed stamp kills the grant. */
  readonly securityStamp: string;
  /** Sliding expiry. */
  expiresAt: number;
  /** Sliding lifetime in seconds. */
  readonly slidingSeconds: number;
}

/**
 * Returns a new lowercase GUID.
 *
 * @returns The GUID.
 */
export function newId(): string {
  return crypto.randomUUID();
}

/** How long an approved login-with-device request can be used (`UserRequestExpiration`). */
export const AUTH_REQUEST_LIFETIME_MS = 15 * 60 * 1000;

/** All in-memory state of the reference server. */
export class MemoryStore {
  /** Users by id. */
  readonly users: Map<string, User> = new Map();
  /** Devices by id. */
  readonly devices: Map<string, Device> = new Map();
  /** Organizations by id. */
  readonly organizations: Map<string, Organization> = new Map();
  /** Memberships by organization-user id. */
  readonly memberships: Map<string, Membership> = new Map();
  /** Collections by id. */
  readonly collections: Map<string, Collection> = new Map();
  /** Folders by id. */
  readonly folders: Map<string, Folder> = new Map();
  /** Ciphers by id. */
  readonly ciphers: Map<string, Cipher> = new Map();
  /** Sends by id. */
  readonly sends: Map<string, Send> = new Map();
  /** Auth requests by id. */
  readonly authRequests: Map<string, AuthRequest> = new Map();
  /** Policies by `${organizationId}:${type}`. */
  readonly policies: Map<string, Policy> = new Map();
  /** Notification-center notifications by id. */
  readonly notifications: Map<string, CenterNotification> = new Map();
  /** Statuses by `${notificationId}:${userId}`. */
  readonly notificationStatuses: Map<string, NotificationStatus> = new Map();
  /** Refresh grants by handle. */
  readonly refreshGrants: Map<string, RefreshGrant> = new Map();
  /** Registration e-mail verification tokens: token -> e-mail and expiry. */
  readonly registrationTokens: Map<
    string,
    { email: string; name: string | null; expiresAt: number }
  > = new Map();

  /**
   * Finds a user by e-mail (trimmed, case-insensitive).
   *
   * @param email The e-mail.
   * @returns The user or undefined.
   */
  userByEmail(email: string): User | undefined {
    const wanted = email.trim().toLowerCase();
    for (const user of this.users.values()) if (user.email === wanted) return user;
    return undefined;
  }

  /**
   * Finds a user's device by identifier.
   *
   * @param userId The user.
   * @param identifier The device identifier.
   * @returns The device or undefined.
   */
  deviceOf(userId: string, identifier: string): Device | undefined {
    for (const device of this.devices.values()) {
      if (device.userId === userId && device.identifier === identifier) return device;
    }
    return undefined;
  }

  /**
   * A user's memberships, optionally only those with a given status.
   *
   * @param userId The user.
   * @param status Only this MemberStatus, when given.
   * @returns The memberships.
   */
  membershipsOf(userId: string, status?: number): Membership[] {
    return [...this.memberships.values()].filter((m) =>
      m.userId === userId && (status === undefined || m.status === status)
    );
  }

  /**
   * The confirmed membership of a user in an organization.
   *
   * @param organizationId The organization.
   * @param userId The user.
   * @returns The membership or undefined.
   */
  confirmedMembership(organizationId: string, userId: string): Membership | undefined {
    for (const m of this.memberships.values()) {
      if (
        m.organizationId === organizationId && m.userId === userId &&
        m.status === MemberStatus.Confirmed
      ) return m;
    }
    return undefined;
  }

  /**
   * Members of an organization.
   *
   * @param organizationId The organization.
   * @returns The memberships.
   */
  membersOf(organizationId: string): Membership[] {
    return [...this.memberships.values()].filter((m) => m.organizationId === organizationId);
  }

  /**
   * Deletes a user and what hangs off it, as Bitwarden's `User_DeleteById` does (bitwarden/server
   * src/Sql/dbo/Stored Procedures/User_DeleteById.sql @ ac309aa19ed351406a56032d5f26a7a9a99f4abd):
   * personal ciphers, folders, Sends, devices, memberships, auth requests, refresh grants and
   * notification statuses. Organizations stay; callers check sole ownership first.
   *
   * @param userId The user.
   */
  deleteUser(userId: string): void {
    const own = (record: { readonly userId: string | null }) => record.userId === userId;
    deleteWhere(this.ciphers, own);
    deleteWhere(this.folders, own);
    deleteWhere(this.sends, own);
    deleteWhere(this.devices, own);
    deleteWhere(this.memberships, own);
    deleteWhere(this.authRequests, own);
    deleteWhere(this.refreshGrants, own);
    for (const key of [...this.notificationStatuses.keys()]) {
      if (key.endsWith(`:${userId}`)) this.notificationStatuses.delete(key);
    }
    this.users.delete(userId);
  }

  /**
   * Deletes an organization with its ciphers, collections, memberships and policies, as
   * Bitwarden's `Organization_DeleteById` does (bitwarden/server src/Sql/dbo/Stored
   * Procedures/Organization_DeleteById.sql @ ac309aa19ed351406a56032d5f26a7a9a99f4abd).
   *
   * @param organizationId The organization.
   */
  deleteOrganization(organizationId: string): void {
    const inside = (record: { readonly organizationId: string | null }) =>
      record.organizationId === organizationId;
    deleteWhere(this.ciphers, inside);
    deleteWhere(this.collections, inside);
    deleteWhere(this.memberships, inside);
    deleteWhere(this.policies, inside);
    this.organizations.delete(organizationId);
  }
}

function deleteWhere<V>(map: Map<string, V>, match: (value: V) => boolean): void {
  for (const [key, value] of map) if (match(value)) map.delete(key);
}
