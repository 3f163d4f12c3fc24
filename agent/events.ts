import type { RefusalReason } from './target.js';

/**
 * The agent's event log: one JSON line per event on stdout (pino's shape: numeric level, time, msg),
 * each with a stable numeric `code` modelled on Azure's PasswordResetService event log
 * (reference/azure-password-management.md §6.9) so runbooks and alerts written for Azure carry over.
 * Codes Azure does not have are marked "Postern" below; never reuse a code for another meaning.
 *
 * | code  | name                       | level | meaning |
 * |-------|----------------------------|-------|---------|
 * | 31001 | PasswordResetStart         | info  | self-service reset job received (also a reset whose payload names no origin: sealed before origins existed) |
 * | 31002 | PasswordResetSuccess       | info  | self-service reset written to the directory |
 * | 31003 | PasswordResetFail          | warn  | the directory refused the self-service reset (reason, detail) |
 * | 31004 | OnboardingEventStart       | info  | registration with a one-time token started |
 * | 31005 | OnboardingEventSuccess     | info  | registered: agent id, tenant |
 * | 31006 | ChangePasswordStart        | info  | change job received |
 * | 31007 | ChangePasswordSuccess      | info  | change written |
 * | 31008 | ChangePasswordFail         | warn  | the directory refused the change |
 * | 31009 | ResetUserPasswordByAdminStart | info | admin reset job received |
 * | 31010 | ResetUserPasswordByAdminSuccess | info | admin reset written to the directory |
 * | 31011 | ResetUserPasswordByAdminFail | warn | the directory refused the admin reset (reason, detail) |
 * | 31015 | WriteBackServiceStarted    | info  | agent running: pollers, heartbeat, sync started |
 * | 31016 | WriteBackServiceStopped    | info  | agent stopped (signal); Postern will route jobs elsewhere |
 * | 31018 | KeyPairCreationSuccess     | info  | a new P-256 key pair was created and announced (registration or rotation) |
 * | 31019 | UnlockStart                | info  | Postern: unlock job received |
 * | 31020 | UnlockSuccess              | info  | Postern: account unlocked |
 * | 31021 | UnlockFail                 | warn  | Postern: the directory refused the unlock |
 * | 31022 | PassThroughAuthSuccess     | info  | Postern: a pass-through verification bind succeeded |
 * | 31023 | PassThroughAuthFail        | info  | Postern: a pass-through verification was refused (wrong password is ordinary) |
 * | 31024 | JobReplayed                | info  | Postern: a job id seen before: the recorded result was sent again, nothing re-applied |
 * | 31025 | JobExpired                 | warn  | Postern: a job arrived after its expiry and was dropped unapplied |
 * | 31026 | PreviousKeyDropped         | info  | Postern: the key before the last rotation was erased from the state file |
 * | 32000 | UnknownError               | error | an unexpected error (message only) |
 * | 32001 | ServiceError               | warn  | Postern cannot be reached (network/TLS); retrying with backoff |
 * | 32003 | InputValidationError       | error | a job failed validation (jobId mismatch, missing field) and was refused |
 * | 32004 | DecryptionError            | error | a job's JWE could not be opened (no key with its kid, or tampered) |
 * | 32005 | ConfigurationError         | error | the config, token or state file is unusable |
 * | 32008 | ValidationError            | error | Postern's answer did not match the protocol |
 * | 32009 | AuthTokenError             | error | Postern refused the registration token or the agent credential (HTTP 401/403) |
 * | 32010 | CryptoError                | error | key generation or rotation failed |
 * | 32014 | ServiceBusWarning          | warn  | Postern answered with a server error; retrying with backoff |
 * | 32015 | ReportServiceHealthError   | warn  | a heartbeat could not be delivered |
 * | 33001 | ADUnKnownError             | warn  | the directory failed for another reason ('other', or a non-refusal error) |
 * | 33002 | ADUserNotFoundError        | warn  | user not found in the directory |
 * | 33004 | ADPermissionsError         | error | the service account lacks a right (accessDenied) |
 * | 33005 | ADUserAccountDisabled      | warn  | account disabled in the directory |
 * | 33006 | ADUserAccountLockedOut     | warn  | account locked in the directory |
 * | 33007 | ADUserIncorrectPassword    | info  | wrong current password on change / verify |
 * | 33008 | ADPasswordPolicyError      | warn  | policy refused: tooShort, recentlyUsed, tooYoung, notComplex |
 * | 33010 | DirectoryUnreachable       | error | Postern: the directory cannot be reached (connection, TLS, timeout) |
 * | 33011 | ProtectedAccount           | warn  | Postern: AD adminCount=1, writeback refused as Azure does |
 * | 33012 | DirectoryReachabilityChanged | info | Postern: the directory became reachable / unreachable (heartbeat) |
 * | 34001 | SyncStart                  | info  | a full sync run started (interval or requested) |
 * | 34002 | SyncSuccess                | info  | a full sync run finished: counts |
 * | 34003 | SyncFail                   | error | a sync run failed; the run was not closed, nothing disabled |
 * | 34004 | HashSyncDelta              | info  | password-hash delta sent (OpenLDAP): users changed since the last run |
 *
 * Every job event carries `origin` (selfService | admin | user | unknown): who asked for the operation,
 * sealed in the job by Postern. Unlock has no Azure code per origin, so the field alone tells them apart.
 */
export const EVENTS = {
  PasswordResetStart: [31001, 'info'],
  PasswordResetSuccess: [31002, 'info'],
  PasswordResetFail: [31003, 'warn'],
  OnboardingEventStart: [31004, 'info'],
  OnboardingEventSuccess: [31005, 'info'],
  ChangePasswordStart: [31006, 'info'],
  ChangePasswordSuccess: [31007, 'info'],
  ChangePasswordFail: [31008, 'warn'],
  ResetUserPasswordByAdminStart: [31009, 'info'],
  ResetUserPasswordByAdminSuccess: [31010, 'info'],
  ResetUserPasswordByAdminFail: [31011, 'warn'],
  WriteBackServiceStarted: [31015, 'info'],
  WriteBackServiceStopped: [31016, 'info'],
  KeyPairCreationSuccess: [31018, 'info'],
  UnlockStart: [31019, 'info'],
  UnlockSuccess: [31020, 'info'],
  UnlockFail: [31021, 'warn'],
  PassThroughAuthSuccess: [31022, 'info'],
  PassThroughAuthFail: [31023, 'info'],
  JobReplayed: [31024, 'info'],
  JobExpired: [31025, 'warn'],
  PreviousKeyDropped: [31026, 'info'],
  UnknownError: [32000, 'error'],
  ServiceError: [32001, 'warn'],
  InputValidationError: [32003, 'error'],
  DecryptionError: [32004, 'error'],
  ConfigurationError: [32005, 'error'],
  ValidationError: [32008, 'error'],
  AuthTokenError: [32009, 'error'],
  CryptoError: [32010, 'error'],
  ServiceBusWarning: [32014, 'warn'],
  ReportServiceHealthError: [32015, 'warn'],
  ADUnKnownError: [33001, 'warn'],
  ADUserNotFoundError: [33002, 'warn'],
  ADPermissionsError: [33004, 'error'],
  ADUserAccountDisabled: [33005, 'warn'],
  ADUserAccountLockedOut: [33006, 'warn'],
  ADUserIncorrectPassword: [33007, 'info'],
  ADPasswordPolicyError: [33008, 'warn'],
  DirectoryUnreachable: [33010, 'error'],
  ProtectedAccount: [33011, 'warn'],
  DirectoryReachabilityChanged: [33012, 'info'],
  SyncStart: [34001, 'info'],
  SyncSuccess: [34002, 'info'],
  SyncFail: [34003, 'error'],
  HashSyncDelta: [34004, 'info'],
} as const satisfies Record<string, readonly [number, 'info' | 'warn' | 'error']>;

export type EventName = keyof typeof EVENTS;

/** The 33xxx event that names a directory refusal. */
export function refusalEvent(reason: RefusalReason): EventName {
  switch (reason) {
    case 'tooShort':
    case 'recentlyUsed':
    case 'tooYoung':
    case 'notComplex':
      return 'ADPasswordPolicyError';
    case 'notFound':
      return 'ADUserNotFoundError';
    case 'accountDisabled':
      return 'ADUserAccountDisabled';
    case 'lockedOut':
      return 'ADUserAccountLockedOut';
    case 'wrongPassword':
      return 'ADUserIncorrectPassword';
    case 'accessDenied':
      return 'ADPermissionsError';
    case 'unreachable':
      return 'DirectoryUnreachable';
    case 'protectedAccount':
      return 'ProtectedAccount';
    default:
      return 'ADUnKnownError';
  }
}

/** Only plain scalars are logged; keys that could carry a secret are dropped whatever their value. */
export type EventFields = Record<string, string | number | boolean | null | undefined>;
const SECRET_KEY = /pass(word)?|secret|credential|token|sealed|jwk|key$/i;

export interface AgentLog {
  event(name: EventName, msg: string, fields?: EventFields): void;
}

const LEVELS = { info: 30, warn: 40, error: 50 } as const;
const RESERVED = new Set(['level', 'time', 'name', 'code', 'event', 'msg']);

/** JSON lines to `write` (stdout by default); the agent's only logger. */
export function createAgentLog(write: (line: string) => void = (l) => process.stdout.write(l), clock: () => Date = () => new Date()): AgentLog {
  return {
    event(name, msg, fields = {}) {
      const [code, level] = EVENTS[name];
      const safe: EventFields = {};
      // a field never passes for the line's own keys (a `code` field, Postern's error code, once hid the
      // event's code): it is kept, renamed (code → codeDetail)
      for (const [k, v] of Object.entries(fields)) if (v !== undefined && !SECRET_KEY.test(k)) safe[RESERVED.has(k) ? `${k}Detail` : k] = v;
      write(`${JSON.stringify({ level: LEVELS[level], time: clock().getTime(), name: 'postern-agent', code, event: name, msg, ...safe })}\n`);
    },
  };
}
