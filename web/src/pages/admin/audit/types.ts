/** The shapes the audit pages read (GET /v1.0/auditLogs/directoryAudits, /api/v1/reports/*, /api/v1/audit/verify). */

export interface DirectoryAudit {
  id: string;
  category: string;
  correlationId: string;
  result: 'success' | 'failure' | 'timeout';
  resultReason: string;
  activityDisplayName: string;
  activityDateTime: string;
  loggedByService: string;
  operationType: string;
  initiatedBy: {
    user: { id: string | null; displayName: string | null; userPrincipalName: string | null; ipAddress: string | null } | null;
    app: { appId: string | null; displayName: string | null; servicePrincipalId: string | null; servicePrincipalName: string | null } | null;
  };
  targetResources: {
    id: string;
    displayName: string | null;
    type: string;
    userPrincipalName: string | null;
    groupType: string | null;
    modifiedProperties: { displayName: string; oldValue: string | null; newValue: string | null }[];
  }[];
  additionalDetails: { key: string; value: string }[];
}

export interface GraphPage<T> {
  value: T[];
  '@odata.nextLink'?: string;
}

export interface ReportPage<T> {
  value: T[];
  nextCursor: string | null;
  nextLink: string | null;
}

export interface ReportUser {
  id: string;
  userPrincipalName: string | null;
  displayName: string | null;
}

export interface ResetActivityRow {
  id: string;
  flowId: string | null;
  dateTime: string;
  user: ReportUser;
  role: string;
  methods: string[];
  methodsUsed: string[];
  result: string;
  details: string;
  activity: string;
  initiatedBy: string | null;
}

export interface RegistrationActivityRow {
  id: string;
  dateTime: string;
  user: ReportUser;
  role: string;
  methods: string[];
  dataRegistered: string;
  activity: string;
  initiatedBy: string | null;
}

export type ChainVerification =
  | { ok: true; count: number; head: { seq: number; id: string; hash: string } | null; start?: { seq: number; removedCount: number; removedThrough: string | null } }
  | { ok: false; count: number; firstBad: { seq: number; id: string | null; problem: string; detail: string } };

export interface ResultCounts {
  success: number;
  failure: number;
  timeout: number;
}

export const SERIES = ['selfServiceResets', 'passwordChanges', 'selfServiceUnlocks', 'adminUnlocks', 'registrations', 'blocks', 'adminResets'] as const;
export type SeriesName = (typeof SERIES)[number];

export const FLOW_OUTCOMES = ['Succeeded', 'Failed', 'Blocked', 'Abandoned', 'Cancelled', 'Contacted Admin'] as const;
export type FlowOutcome = (typeof FLOW_OUTCOMES)[number];

export type InsightsDay = Record<SeriesName, ResultCounts> & { day: string; flowOutcomes: Record<FlowOutcome, number> };

export interface Insights {
  from: string;
  to: string;
  days: InsightsDay[];
  totals: Record<SeriesName, ResultCounts> & { flowOutcomes: Record<FlowOutcome, number> };
  methodsUsed: { method: string; label: string; resets: number; unlocks: number; total: number }[];
  topFailureReasons: { reason: string; count: number; byActivity: Record<string, number> }[];
  registrationCoverage: { asOf: string; users: number; registered: number; enabled: number; capable: number; byMethod: Record<string, number> };
  adminResetsByAdmin: { initiatedBy: DirectoryAudit['initiatedBy']; succeeded: number; failed: number; total: number }[];
  writeback:
    | { available: false; successRate: null; averageLatencyMs: null; note: string }
    | { available: true; jobs: number; succeeded: number; successRate: number; averageLatencyMs: number | null; p50LatencyMs: number | null; note: string };
}
