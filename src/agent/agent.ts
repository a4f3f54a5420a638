import { existsSync } from 'node:fs';
import { isSea } from 'node:sea';
import type { AgentSettings } from '../config.js';
import { messageLimits, protocolVersion, type ResourceCaps } from '../protocol/messages.js';
import { version } from '../version.js';
import { activationCode, forgetActivationCodeFile } from './activation-code.js';
import { AgentChannel, type Order, systemClock } from './channel.js';
import { wsSockets } from './channel-ws.js';
import { Executor } from './executor.js';
import { hostFacts, readBootId } from './host-facts.js';
import {
  AgentError,
  type Identity,
  loadIdentity,
  readCa,
  register,
  ServerUnreachable,
  saveIdentity,
} from './identity.js';
import type { JournalEvent } from './journal.js';
import { openJournal } from './journal-file.js';
import { ResourceCapper } from './resource-caps.js';
import { Scheduler } from './scheduler.js';
import { SelfUpgrade, upgradeExitCode } from './self-upgrade.js';
import { prepareStateDir } from './state-dir.js';
import { lockStateDir } from './state-lock.js';
import { writeStatus } from './status-file.js';
import { TerminalSessions } from './terminal/sessions.js';
import { warmShellsFor } from './warm-shells.js';

export interface AgentConfig extends AgentSettings {
  readonly maxConcurrentTasks?: number;
  readonly killGraceMs?: number;
}

export interface RunningAgent {
  readonly instanceId: string;
  stop(): Promise<void>;
}

/** Trades the activation for an identity, kept in the state dir; a code file has served its purpose then. */
async function registerOnce(
  config: AgentConfig,
  facts: ReturnType<typeof hostFacts>,
  ca: Buffer | undefined,
): Promise<Identity> {
  const code = await activationCode(config);
  if (!config.activationId || !code) {
    throw new AgentError(
      'this agent is not registered yet: pass --activation-id, and the code in OPENASSIST_ACTIVATION_CODE or --activation-code-file',
    );
  }
  const identity = await register(
    config.serverUrls,
    {
      activationId: config.activationId,
      activationCode: code,
      hostname: facts.hostname,
      osType: facts.osType,
      osVersion: facts.osVersion,
      agentVersion: config.testing.agentVersion ?? version,
      machineId: facts.machineId,
    },
    ca,
  );
  await saveIdentity(config.stateDir, identity);
  await forgetActivationCodeFile(config);
  return identity;
}

/**
 * Registers on first start (identity kept in the state dir), then serves tasks until stopped. The
 * state dir is locked first (state-lock.ts): a second agent on it stops before changing anything.
 */
export async function startAgent(
  config: AgentConfig,
  say: (line: string) => void,
  onFatal: (error: AgentError) => void,
): Promise<RunningAgent> {
  const unlock = lockStateDir(config.stateDir, readBootId(config.bootIdFile));
  try {
    return await startLocked(config, say, onFatal, unlock);
  } catch (error) {
    unlock();
    throw error;
  }
}

async function startLocked(
  config: AgentConfig,
  say: (line: string) => void,
  onFatal: (error: AgentError) => void,
  unlock: () => void,
): Promise<RunningAgent> {
  const facts = hostFacts(config);
  // With --ca only that CA is trusted for https:// servers (registration and channel alike).
  const ca = config.caFile ? await readCa(config.caFile) : undefined;
  const workDir = prepareStateDir(config.stateDir, say);
  let identity: Identity | undefined = await loadIdentity(config.stateDir);
  if (!identity) {
    identity = await registerOnce(config, facts, ca).catch((error: unknown) => {
      // An installer waiting on the status file says why, instead of waiting for its deadline; an
      // unreachable server is not final (the supervisor starts the agent again).
      if (error instanceof AgentError && !(error instanceof ServerUnreachable))
        writeStatus(config.stateDir, { state: 'failed', reason: error.message });
      throw error;
    });
    say(`registered as ${identity.instanceId}`);
  }
  const { instanceId, token } = identity;
  const fatal = (error: AgentError) => {
    writeStatus(config.stateDir, { state: 'failed', reason: error.message });
    onFatal(error);
  };
  const helloProtocol = config.testing.protocolVersion ?? protocolVersion;
  const journal = openJournal(config.stateDir, config.resetJournal, say, {
    runOutputMaxBytes: config.journalRunOutputMaxBytes,
    outputMaxBytes: config.journalOutputMaxBytes,
  });
  journal.forgetOld(Date.now());
  // An agent that runs for months forgets old finished runs as it goes, not only when it starts.
  const forgetting = setInterval(() => {
    try {
      journal.forgetOld(Date.now());
    } catch {
      // a full disk: try again next time
    }
  }, 3_600_000);
  forgetting.unref();

  // Created first: the executor and the scheduler emit through it (nothing goes out before a welcome).
  const channel = new AgentChannel({
    instanceId,
    serverUrls: config.serverUrls,
    openSocket: wsSockets({ instanceId, token, ...(ca && { ca }) }),
    clock: systemClock,
    journal,
    hello: () => {
      // A list longer than the server takes is left out: the server then does not reconcile it.
      const schedules = scheduler.held();
      const runs = journal.heldRuns(messageLimits.heldEntries + 1);
      return {
        type: 'hello',
        protocolVersion: helloProtocol,
        agentVersion: config.testing.agentVersion ?? version,
        bootId: readBootId(config.bootIdFile),
        hostname: facts.hostname,
        osType: facts.osType,
        osVersion: facts.osVersion,
        timeZone: facts.timeZone,
        arch: process.arch,
        shells: facts.shells,
        ...(schedules.length <= messageLimits.heldEntries && { schedules }),
        ...(runs.length <= messageLimits.heldEntries && { runs }),
      };
    },
    activeTasks: () => executor.activeCount,
    health: () => journal.health(),
    onWelcome: (welcome) => {
      say(`connected as ${instanceId}`);
      writeStatus(config.stateDir, { state: 'connected', instanceId });
      // A server that sends no caps is older than them: it would not read the report either.
      if (welcome.resourceCaps) applyCaps(welcome.resourceCaps);
    },
    onOrder: (order) => obey(order),
    onRejected: (why) => fatal(new AgentError(why)),
    say,
  });
  const emit = (event: JournalEvent) => channel.emit(event);
  const capper = new ResourceCapper({
    name: `openassist-${instanceId}`,
    pid: process.pid,
    ...(config.inServerProcess && {
      refused:
        "the agent runs inside the server's process (openassist up): its caps would cap the server too",
    }),
  });
  let lastCapsReport = '';
  /** Applies the caps (ResourceUsageConfig) and tells the server what was applied. */
  const applyCaps = (caps: ResourceCaps) => {
    const report = capper.apply(caps);
    const text = JSON.stringify(report);
    if (text !== lastCapsReport && report.state === 'unavailable')
      say(`resource caps not applied: ${report.reason}`);
    lastCapsReport = text;
    channel.send({ type: 'resource-usage', ...report });
  };
  // One shell started ahead from the start: the first run without Username takes it too.
  const warmShells = warmShellsFor(workDir);
  void warmShells.refill();
  const executor = new Executor({
    journal,
    emit,
    workDir,
    nowMs: Date.now,
    bootId: readBootId(config.bootIdFile),
    containerSockets: config.containerSockets,
    outputCapBytes: config.outputCapBytes,
    placeRun: (pid) => capper.placeRun(pid),
    warmShells,
    filePauseMarker: config.testing.fileWritePauseMarker,
    goPauseMarker: config.testing.runGoPauseMarker,
    // Downloads go to the server the channel talks to now, signed in as the channel is.
    fileServer: { serverUrl: (): string => channel.serverUrl, instanceId, token, ca },
    instanceId,
    ...(config.maxConcurrentTasks !== undefined && { maxConcurrent: config.maxConcurrentTasks }),
    ...(config.killGraceMs !== undefined && { killGraceMs: config.killGraceMs }),
  });
  // Each session dials the server the channel talks to (or the relay named), signed in as the channel is.
  const sessions = new TerminalSessions({
    instanceId,
    token,
    ca,
    serverUrl: () => channel.serverUrl,
    placeProcess: (pid) => capper.placeRun(pid),
    say,
  });
  const interrupted = executor.recoverInterrupted();
  if (interrupted > 0) say(`${interrupted} task(s) were interrupted by the last stop; reporting them`);
  const scheduler = new Scheduler({ journal, executor, emit, nowMs: Date.now, timeZone: facts.timeZone });
  const resumed = scheduler.resume();
  if (resumed > 0) say(`${resumed} schedule(s) resumed`);

  let restarting = false;
  let agent: RunningAgent | undefined;
  const upgrades = new SelfUpgrade({
    version,
    executablePath: process.execPath,
    // Only the single executable can replace itself: under node, execPath is node.
    selfUpgradable: isSea(),
    // Downloads come from the server the agent last tried.
    serverUrl: () => channel.serverUrl,
    ca,
    jitterMs: config.upgradeJitterSeconds * 1000,
    isQuiet: () => executor.idle,
    stopTakingTasks: () => {
      restarting = true;
      scheduler.stop();
    },
    resumeTakingTasks: () => {
      restarting = false;
      scheduler.resume();
    },
    // The new executable is in place: stop as on SIGTERM, then exit for the supervisor to start it.
    restart: () => {
      void agent?.stop().finally(() => process.exit(upgradeExitCode));
    },
    say,
  });

  function obey(order: Order): void {
    switch (order.type) {
      case 'task':
        // Restarting into a new executable: not accepted, so the server sends it again after the new hello.
        if (restarting) return;
        if (order.task.schedule) scheduler.add(order.task);
        else executor.submit(order.task);
        return;
      case 'upgrade':
        upgrades.offer(order);
        return;
      case 'resource-caps':
        applyCaps(order.caps);
        return;
      case 'session-open':
        sessions.open(order);
        return;
      case 'cancel':
        scheduler.cancel(order.invokeId);
        executor.cancel(order.invokeId, order.terminationMode);
        return;
    }
  }

  channel.start();
  agent = {
    instanceId,
    async stop() {
      channel.stop();
      upgrades.stop();
      clearInterval(forgetting);
      if (channel.ready && existsSync(config.shutdownMarkerFile)) channel.send({ type: 'shutdown' });
      scheduler.stop();
      await Promise.all([executor.stopAll(), sessions.stopAll()]);
      channel.close('agent stopping');
      journal.close();
      writeStatus(config.stateDir, { state: 'stopped' });
      unlock();
    },
  };
  return agent;
}
