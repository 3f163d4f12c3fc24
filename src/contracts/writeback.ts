/** The API's JSON shapes for password writeback (see src/contracts/sspr-policy.ts: types only, no imports). */

/** One on-premises agent as GET /api/v1/writeback/agents lists it. */
export interface AgentView {
  id: string;
  name: string;
  version: string;
  directoryKind: string;
  enabled: boolean;
  createdDateTime: string;
  lastHeartbeatDateTime: string | null;
  directoryReachable: boolean;
  directoryDetail: string | null;
  jobsApplied: number;
  jobsRefused: number;
  syncRequested: boolean;
  /** enabled, heard from within three heartbeats, directory reachable: it can take jobs */
  healthy: boolean;
}
