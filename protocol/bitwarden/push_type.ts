/**
 * The Bitwarden `PushType` enum (`src/Core/Platform/Push/PushType.cs`, a byte enum, 0..27).
 *
 * @module
 */

/** Push notification types, with the real server's numeric values. */
export enum PushType {
  /** Cipher updated. */
  SyncCipherUpdate = 0,
  /** Cipher created. */
  SyncCipherCreate = 1,
  /** Login deleted. */
  SyncLoginDelete = 2,
  /** Folder deleted. */
  SyncFolderDelete = 3,
  /** Full cipher sync. */
  SyncCiphers = 4,
  /** Full vault sync. */
  SyncVault = 5,
  /** Organization keys changed. */
  SyncOrgKeys = 6,
  /** Folder created. */
  SyncFolderCreate = 7,
  /** Folder updated. */
  SyncFolderUpdate = 8,
  /** Cipher deleted (no current producer). */
  SyncCipherDelete = 9,
  /** Account settings changed. */
  SyncSettings = 10,
  /** Log out. */
  LogOut = 11,
  /** Send created. */
  SyncSendCreate = 12,
  /** Send updated. */
  SyncSendUpdate = 13,
  /** Send deleted. */
  SyncSendDelete = 14,
  /** Login-with-device request created. */
  AuthRequest = 15,
  /** Login-with-device request answered (anonymous hub). */
  AuthRequestResponse = 16,
  /** Organizations changed. */
  SyncOrganizations = 17,
  /** Organization enabled or disabled. */
  SyncOrganizationStatusChanged = 18,
  /** Organization collection-management settings changed. */
  SyncOrganizationCollectionSettingChanged = 19,
  /** Notification-center notification. */
  Notification = 20,
  /** Notification-center notification status (read / deleted). */
  NotificationStatus = 21,
  /** Security tasks changed. */
  RefreshSecurityTasks = 22,
  /** Organization bank account verified. */
  OrganizationBankAccountVerified = 23,
  /** Provider bank account verified. */
  ProviderBankAccountVerified = 24,
  /** Organization policy changed. */
  PolicyChanged = 25,
  /** Auto-confirm a member. */
  AutoConfirm = 26,
  /** Premium status changed. */
  PremiumStatusChanged = 27,
}

/** Every defined push type value, ascending. */
export const PUSH_TYPES: readonly PushType[] = Object.freeze(
  Array.from({ length: 28 }, (_, i) => i as PushType),
);

/**
 * Returns the enum name of a push type, or `undefined` for a value the real server does not define.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { pushTypeName } from "./push_type.ts";
 * strictEqual(pushTypeName(11), "LogOut");
 * strictEqual(pushTypeName(28), undefined);
 * ```
 * @param type Numeric push type.
 * @returns The name, for example `LogOut`.
 */
export function pushTypeName(type: number): string | undefined {
  return Number.isInteger(type) && type >= 0 && type <= 27 ? PushType[type] : undefined;
}
