import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isSea } from 'node:sea';
import type * as Ws from 'ws';
import type { AgentSettings } from '../config.js';
import {
  type AgentMessage,
  channelPath,
  maxFrameBytes,
  messageLimits,
  parseServerMessage,
  protocolVersion,
  type ServerMessage,
} from '../protocol/messages.js';
import { version } from '../version.js';
import { activationCode, forgetActivationCodeFile } from './activation-code.js';
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
import { Scheduler } from './scheduler.js';
import { SelfUpgrade, upgradeExitCode } from './self-upgrade.js';
import { rotatingLookup } from './server-rotation.js';
import { certificateProblem, readSmallBody, refusalCode } from './server-tls.js';
import { prepareStateDir } from './state-dir.js';
import { lockStateDir } from './state-lock.js';
import { writeStatus } from './status-file.js';

// CommonJS packages are required, not imported: an import makes Node 20 scan each file's source for
// its export names; on ws's 130 KB that scanner gets optimized, and the optimizing compiler's memory
// stayed with the idle agent (about 4 MiB).
const { WebSocket } = createRequire(import.meta.url)('ws') as typeof Ws;
type WebSocket = Ws.WebSocket;

export interface AgentConfig extends AgentSettings {
  readonly maxConcurrentTasks?: number;
  readonly killGraceMs?: number;
}

export interface RunningAgent {
  readonly instanceId: string;
  stop(): Promise<void>;
}

// Reconnect backoff: from half a second, doubling, capped at 30 s, with ±50 % jitter so a fleet
// that lost its server does not come back in one wave.
const backoff = { firstMs: 500, maxMs: 30_000 };
const jittered = (ms: number): number => Math.round(ms * (0.5 + Math.random()));
/** The close code of a server that does not speak this agent's protocol (docs/agent-protocol.md). */
const protocolRefused = 4003;

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
  let saidRefusal = '';
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

  let socket: WebSocket | undefined;
  let ready = false;
  let stopped = false;
  let retryMs = backoff.firstMs;
  let heartbeat: NodeJS.Timeout | undefined;
  let reconnect: NodeJS.Timeout | undefined;
  /** Ends a channel on which the server has been silent for three heartbeats (a half-open TCP connection). */
  let silence: NodeJS.Timeout | undefined;
  let silenceMs = 60_000;
  const heardFromServer = (ws: WebSocket) => {
    clearTimeout(silence);
    silence = setTimeout(() => ws.terminate(), silenceMs);
  };
  /** Events sent on the current connection and not acknowledged yet: not re-sent on it. */
  const inFlight = new Set<string>();

  const send = (message: AgentMessage) => socket?.send(JSON.stringify(message));
  const emit = (event: JournalEvent) => {
    if (!ready || inFlight.has(event.eventId)) return;
    inFlight.add(event.eventId);
    send({
      type: 'event',
      eventId: event.eventId,
      invokeId: event.invokeId,
      ...(event.execution > 0 && { execution: event.execution }),
      event: event.event,
    });
  };
  const executor = new Executor({
    journal,
    emit,
    workDir,
    nowMs: Date.now,
    bootId: readBootId(config.bootIdFile),
    containerSockets: config.containerSockets,
    outputCapBytes: config.outputCapBytes,
    ...(config.maxConcurrentTasks !== undefined && { maxConcurrent: config.maxConcurrentTasks }),
    ...(config.killGraceMs !== undefined && { killGraceMs: config.killGraceMs }),
  });
  const interrupted = executor.recoverInterrupted();
  if (interrupted > 0) say(`${interrupted} task(s) were interrupted by the last stop; reporting them`);
  const scheduler = new Scheduler({ journal, executor, emit, nowMs: Date.now, timeZone: facts.timeZone });
  const resumed = scheduler.resume();
  if (resumed > 0) say(`${resumed} schedule(s) resumed`);

  let restarting = false;
  // Each attempt goes to the next server; downloads come from the one the agent last tried.
  let attempt = 0;
  let agent: RunningAgent | undefined;
  const upgrades = new SelfUpgrade({
    version,
    executablePath: process.execPath,
    // Only the single executable can replace itself: under node, execPath is node.
    selfUpgradable: isSea(),
    serverUrl: () => config.serverUrls[attempt % config.serverUrls.length] ?? '',
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

  function handle(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        ready = true;
        retryMs = backoff.firstMs;
        silenceMs = 3 * message.heartbeatSeconds * 1000;
        say(`connected as ${instanceId}`);
        writeStatus(config.stateDir, { state: 'connected', instanceId });
        clearInterval(heartbeat);
        heartbeat = setInterval(
          () => send({ type: 'heartbeat', activeTasks: executor.activeCount }),
          message.heartbeatSeconds * 1000,
        );
        // Whatever the server has not acknowledged goes again, oldest first; it ignores repeats.
        for (const event of journal.unacknowledged()) emit(event);
        return;
      case 'task':
        // Restarting into a new executable: not accepted, so the server sends it again after the new hello.
        if (restarting) return;
        if (message.task.schedule) scheduler.add(message.task);
        else executor.submit(message.task);
        return;
      case 'upgrade':
        upgrades.offer(message);
        return;
      case 'cancel':
        scheduler.cancel(message.invokeId);
        executor.cancel(message.invokeId, message.terminationMode);
        return;
      case 'ack':
        journal.acknowledge(message.eventIds);
        for (const eventId of message.eventIds) inFlight.delete(eventId);
        return;
    }
  }

  // Each attempt after a failure or a lost channel goes to the next server (and, for a name with
  // several addresses, the next address), so the agent finds a live node of a cluster.
  let lastProblem = '';
  function connect(): void {
    if (stopped) return;
    const servers = config.serverUrls;
    const url = new URL(channelPath, servers[attempt % servers.length]);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, {
      headers: { 'x-openassist-instance-id': instanceId, authorization: `Bearer ${token}` },
      maxPayload: maxFrameBytes,
      perMessageDeflate: false,
      lookup: rotatingLookup(Math.floor(attempt / servers.length)),
      ...(ca && { ca }),
    });
    socket = ws;
    ws.on('open', () => {
      const bootId = readBootId(config.bootIdFile);
      // A list longer than the server takes is left out: the server then does not reconcile it.
      const schedules = scheduler.held();
      const runs = journal.heldRuns(messageLimits.heldEntries + 1);
      send({
        type: 'hello',
        protocolVersion: helloProtocol,
        agentVersion: config.testing.agentVersion ?? version,
        bootId,
        hostname: facts.hostname,
        osType: facts.osType,
        osVersion: facts.osVersion,
        timeZone: facts.timeZone,
        arch: process.arch,
        shells: facts.shells,
        ...(schedules.length <= messageLimits.heldEntries && { schedules }),
        ...(runs.length <= messageLimits.heldEntries && { runs }),
      });
    });
    ws.on('ping', () => heardFromServer(ws));
    ws.on('open', () => heardFromServer(ws));
    ws.on('message', (data) => {
      heardFromServer(ws);
      const message = parseServerMessage(data.toString());
      if (message) handle(message);
    });
    ws.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      if (status === 401) stopped = true;
      if (status === 429) {
        // Too many failed attempts from this address: wait at least as long as the server asks.
        const retryAfterMs = Number(response.headers['retry-after']) * 1000 || backoff.maxMs;
        retryMs = Math.min(Math.max(retryMs, retryAfterMs), backoff.maxMs);
      }
      void readSmallBody(response).then((body) => {
        const code = refusalCode(status, body);
        if (status === 401) {
          fatal(new AgentError(`the server refused ${instanceId} (${code}): deregistered? register again`));
        } else if (status === 429) say(`the server throttles this address (${code}); retrying`);
        ws.terminate();
      });
    });
    ws.on('error', (error) => {
      // 'close' follows and schedules the retry; a certificate problem is said once, not every retry.
      const problem = certificateProblem(error, servers[attempt % servers.length] ?? '');
      if (problem && problem !== lastProblem) say(problem);
      lastProblem = problem ?? '';
    });
    ws.on('close', (code, reason) => {
      ready = false;
      inFlight.clear();
      clearInterval(heartbeat);
      clearTimeout(silence);
      if (code === 4001) {
        stopped = true;
        fatal(new AgentError(`${instanceId} was deregistered: register again`));
      }
      if (stopped) return;
      if (code === protocolRefused) {
        // The server is older than this agent: said once; retried slowly, as the server may be upgraded.
        const problem = `the server refused agent protocol ${helloProtocol} (${reason.toString()}): upgrade the server or run an older agent`;
        if (problem !== saidRefusal) say(problem);
        saidRefusal = problem;
        retryMs = backoff.maxMs;
      }
      attempt++;
      reconnect = setTimeout(connect, jittered(retryMs));
      retryMs = Math.min(retryMs * 2, backoff.maxMs);
    });
  }

  connect();
  agent = {
    instanceId,
    async stop() {
      stopped = true;
      upgrades.stop();
      clearTimeout(reconnect);
      clearInterval(heartbeat);
      clearInterval(forgetting);
      clearTimeout(silence);
      if (ready && existsSync(config.shutdownMarkerFile)) send({ type: 'shutdown' });
      scheduler.stop();
      await executor.stopAll();
      socket?.close(1001, 'agent stopping');
      journal.close();
      writeStatus(config.stateDir, { state: 'stopped' });
      unlock();
    },
  };
  return agent;
}
