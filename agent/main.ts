import { POSTERN_VERSION } from '../src/version.js';
import { AgentChannel } from './channel.js';
import { buildTarget, loadAgentConfig, type AgentConfig, type TargetFactories } from './config.js';
import { createAgentLog, type AgentLog } from './events.js';
import { AgentRunner, type RunnerOptions } from './runner.js';
import { defaultStateFile, loadOrRegister } from './state.js';
import { loadTargetFactories } from './targets-index.js';

/**
 * `postern agent --url U --token-file F --config C [--ca-file P]`: register on first start, then run
 * the loops until the signal aborts (SIGTERM / SIGINT in the CLI).
 */

export interface AgentOptions {
  url: string;
  tokenFile: string;
  /** the directory config file (JSON), or an already parsed config (tests) */
  config: string | AgentConfig;
  caFile?: string | null;
  stateFile?: string;
  name?: string;
  log?: AgentLog;
  /** the real targets by default; tests pass a fake */
  factories?: TargetFactories;
  runner?: Omit<RunnerOptions, 'version'>;
  version?: string;
}

/** Starts an agent and returns the running runner (stop() it). Registration errors are thrown. */
export async function startAgent(o: AgentOptions): Promise<AgentRunner> {
  const log = o.log ?? createAgentLog();
  const config = typeof o.config === 'string' ? loadAgentConfig(o.config) : o.config;
  const version = o.version ?? POSTERN_VERSION;
  const stateFile = o.stateFile ?? defaultStateFile(o.tokenFile);
  const channel = new AgentChannel({ url: o.url, caFile: o.caFile ?? null });
  let state;
  try {
    state = await loadOrRegister({ url: o.url, tokenFile: o.tokenFile, stateFile, directoryKind: config.kind, version, channel, log, ...(o.name ? { name: o.name } : {}) });
  } catch (err) {
    channel.close();
    throw err;
  }
  const target = buildTarget(config, o.factories ?? (await loadTargetFactories()));
  const runner = new AgentRunner(
    { channel, target, log, scope: config.scope, state, stateFile },
    { syncIntervalMinutes: config.syncIntervalMinutes, ...o.runner, version },
  );
  runner.start();
  return runner;
}

/** Runs until `signal` aborts; resolves after a graceful stop. */
export async function runAgent(o: AgentOptions, signal: AbortSignal): Promise<void> {
  const runner = await startAgent(o);
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await runner.stop();
}
