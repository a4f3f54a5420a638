import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { instanceStatuses, isFinal } from '../../src/domain/invocation-status.js';
import { journalSettled } from '../helpers/agent-journal.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type Backend, backendFactories } from '../helpers/backends.js';
import { waitFor } from '../helpers/deadline.js';
import { createResourceGroup, v3Raw } from '../helpers/raw-client.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const finalStatuses: readonly string[] = instanceStatuses.filter(isFinal);

for (const factory of backendFactories) {
  const available = await factory.available();
  describe.skipIf(!available)(`InvokeCommand end to end with real agents on ${factory.name}`, () => {
    let server: ServerProcess;
    let client: EcsClient;
    let activation: { id: string; code: string };
    let agentA: AgentProcess;
    let agentB: AgentProcess;
    let scratch: string;

    async function createActivation(fields: Record<string, unknown> = {}) {
      const { body } = await client.createActivation(
        new Ecs.CreateActivationRequest({ regionId: region, instanceCount: 5, ...fields }),
      );
      return { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
    }

    async function run(instanceIds: string[], script: string, fields: Record<string, unknown> = {}) {
      const { body } = await client.runCommand(
        new Ecs.RunCommandRequest({
          regionId: region,
          type: 'RunShellScript',
          commandContent: script,
          instanceId: instanceIds,
          ...fields,
        }),
      );
      return body?.invokeId ?? '';
    }

    async function results(invokeId: string) {
      const { body } = await client.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({
          regionId: region,
          invokeId,
          contentEncoding: 'PlainText',
          pageSize: 50,
        }),
      );
      return body?.invocation?.invocationResults?.invocationResult ?? [];
    }

    /** Polls DescribeInvocationResults until every instance's run is final. */
    function finished(invokeId: string, timeoutMs = 30_000) {
      return waitFor(
        `${invokeId} to finish`,
        async () => {
          const rows = await results(invokeId);
          return rows.length > 0 && rows.every((row) => finalStatuses.includes(row.invocationStatus ?? ''))
            ? rows
            : undefined;
        },
        timeoutMs,
      );
    }

    function waitStatus(invokeId: string, status: string, timeoutMs = 30_000) {
      return waitFor(
        `${invokeId} to be ${status}`,
        async () =>
          (await results(invokeId)).some((row) => row.invocationStatus === status) ? true : undefined,
        timeoutMs,
      );
    }

    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return !readFileSyncSafe(`/proc/${pid}/stat`).includes(') Z ');
      } catch {
        return false;
      }
    };
    function readFileSyncSafe(path: string): string {
      try {
        return execFileSync('cat', [path]).toString();
      } catch {
        return '';
      }
    }

    let backend: Backend;

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'openassist-e2e-'));
      backend = factory.make();
      server = await startServerProcess({
        databaseUrl: backend.databaseUrl,
        env: { OPENASSIST_DELIVERY_TIMEOUT_S: '6', OPENASSIST_HEARTBEAT_S: '2' },
      });
      client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
      activation = await createActivation({ instanceName: 'e2e', instanceCount: 9 });
      [agentA, agentB] = await Promise.all([
        startAgentProcess({
          serverUrl: server.url,
          activationId: activation.id,
          activationCode: activation.code,
        }),
        startAgentProcess({
          serverUrl: server.url,
          activationId: activation.id,
          activationCode: activation.code,
        }),
      ]);
    });

    afterAll(async () => {
      await agentA?.stop();
      await agentB?.stop();
      expect(await server?.stop()).toBe(0);
      await backend?.dispose();
      await rm(scratch, { recursive: true, force: true });
    });

    describe('activations and registration', () => {
      it('registers agents as mi- instances named after the activation, and lists them', async () => {
        expect(agentA.instanceId).toMatch(/^mi-[0-9a-f]{32}$/);
        expect((await stat(join(agentA.stateDir, 'identity.json'))).mode & 0o777).toBe(0o600);
        const { body } = await client.describeManagedInstances(
          new Ecs.DescribeManagedInstancesRequest({ regionId: region, activationId: activation.id }),
        );
        expect(body?.totalCount).toBe(2);
        expect(body?.instances?.map((i) => i.instanceName).sort()).toEqual(['e2e-1', 'e2e-2']);
        expect(body?.instances?.[0]).toMatchObject({
          osType: 'linux',
          connected: true,
          activationId: activation.id,
        });

        const activations = await client.describeActivations(
          new Ecs.DescribeActivationsRequest({ regionId: region, activationId: activation.id }),
        );
        expect(activations.body?.activationList?.[0]).toMatchObject({
          instanceCount: 9,
          registeredCount: 2,
          disabled: false,
        });
      });

      it('reports the agents in DescribeCloudAssistantStatus and DescribeInstances', async () => {
        const status = await client.describeCloudAssistantStatus(
          new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, instanceId: [agentA.instanceId] }),
        );
        expect(status.body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.[0]).toMatchObject(
          {
            instanceId: agentA.instanceId,
            cloudAssistantStatus: 'true',
            OSType: 'Linux',
          },
        );
        const instances = await client.describeInstances(
          new Ecs.DescribeInstancesRequest({
            regionId: region,
            instanceIds: JSON.stringify([agentB.instanceId]),
          }),
        );
        expect(instances.body?.instances?.instance?.[0]).toMatchObject({
          instanceId: agentB.instanceId,
          status: 'Running',
          OSType: 'linux',
          regionId: region,
        });
        await expectApiError(
          client.describeInstances(
            new Ecs.DescribeInstancesRequest({ regionId: region, instanceIds: 'nope' }),
          ),
          'InvalidInstanceIds.Malformed',
          400,
        );
        await expectApiError(
          client.describeCloudAssistantStatus(
            new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, instanceId: ['mi-unknown'] }),
          ),
          'InvalidInstance.NotFound',
          404,
        );
      });

      it('refuses registration with a wrong code, outside the address range, when disabled and when used up', async () => {
        const refused = async (activationId: string, activationCode: string, expected: string) => {
          const agent = await startAgentProcess({
            serverUrl: server.url,
            activationId,
            activationCode,
            waitConnected: false,
          });
          expect(await agent.exited).toBe(2);
          expect(agent.output()).toContain(expected);
          await rm(agent.stateDir, { recursive: true, force: true });
        };
        await refused(activation.id, 'a-wrong', 'ActivationCode.Invalid');
        await refused('00000000-0000-0000-0000-000000000000', 'x', 'ActivationId.NotFound');
        const elsewhere = await createActivation({ ipAddressRange: '10.0.0.0/8' });
        await refused(elsewhere.id, elsewhere.code, 'Activation.AddressNotAllowed');
        const single = await createActivation({ instanceCount: 1 });
        const first = await startAgentProcess({
          serverUrl: server.url,
          activationId: single.id,
          activationCode: single.code,
        });
        await refused(single.id, single.code, 'Activation.CountExceeded');
        await client.disableActivation(
          new Ecs.DisableActivationRequest({ regionId: region, activationId: elsewhere.id }),
        );
        await refused(elsewhere.id, elsewhere.code, 'Activation.Disabled');

        // An activation with instances cannot be deleted; deregistering them frees it.
        await expectApiError(
          client.deleteActivation(
            new Ecs.DeleteActivationRequest({ regionId: region, activationId: single.id }),
          ),
          'ActivationId.InUse',
          403,
        );
        const deregistered = await client.deregisterManagedInstance(
          new Ecs.DeregisterManagedInstanceRequest({ regionId: region, instanceId: first.instanceId }),
        );
        expect(deregistered.body?.instance?.instanceId).toBe(first.instanceId);
        // Its channel is closed at once and its token no longer works: the agent says so and exits.
        expect(await first.exited).toBe(3);
        expect(first.output()).toContain('deregistered');
        await rm(first.stateDir, { recursive: true, force: true });
        const deleted = await client.deleteActivation(
          new Ecs.DeleteActivationRequest({ regionId: region, activationId: single.id }),
        );
        expect(deleted.body?.activation?.activationId).toBe(single.id);
      });

      it('validates CreateActivation and names instances with ModifyManagedInstance', async () => {
        const create = (fields: Record<string, unknown>) =>
          client.createActivation(new Ecs.CreateActivationRequest({ regionId: region, ...fields }));
        await expectApiError(create({ instanceCount: 0 }), 'ActivationLimitation.Invalid', 400);
        await expectApiError(create({ instanceCount: 1001 }), 'ActivationLimitation.Invalid', 400);
        await expectApiError(create({ timeToLiveInHours: 0 }), 'ActivationTTL.ExceedLimit', 400);
        await expectApiError(create({ ipAddressRange: '300.1.1.1/8' }), 'AddressRange.InvalidPattern', 400);
        await expectApiError(create({ description: 'd'.repeat(101) }), 'ActivationDesc.ExceedLimit', 400);
        await expectApiError(create({ instanceName: '1abc' }), 'InstanceName.InvalidPattern', 400);
        await client.modifyManagedInstance(
          new Ecs.ModifyManagedInstanceRequest({
            regionId: region,
            instanceId: agentA.instanceId,
            instanceName: 'web-1',
          }),
        );
        const { body } = await client.describeManagedInstances(
          new Ecs.DescribeManagedInstancesRequest({ regionId: region, instanceId: [agentA.instanceId] }),
        );
        expect(body?.instances?.[0]?.instanceName).toBe('web-1');
        await expectApiError(
          client.modifyManagedInstance(
            new Ecs.ModifyManagedInstanceRequest({
              regionId: region,
              instanceId: 'mi-none',
              instanceName: 'x1',
            }),
          ),
          'InvalidInstance.NotFound',
          404,
        );
      });
    });

    describe('running commands', () => {
      it('runs a script on two agents and returns output and exit codes', async () => {
        const invokeId = await run(
          [agentA.instanceId, agentB.instanceId],
          'echo "out {{ACS::InstanceId}}"; echo err >&2; exit 0',
        );
        expect(invokeId).toMatch(/^t-[0-9a-f]{32}$/);
        const rows = await finished(invokeId);
        expect(rows).toHaveLength(2);
        for (const row of rows) {
          expect(row).toMatchObject({ invocationStatus: 'Success', exitCode: 0, errorCode: '', dropped: 0 });
          expect(row.output).toBe(`out ${row.instanceId}\nerr\n`);
          expect(row.startTime).toMatch(/Z$/);
          expect(row.finishedTime).toMatch(/Z$/);
        }
        const { body } = await client.describeInvocations(
          new Ecs.DescribeInvocationsRequest({
            regionId: region,
            invokeId,
            includeOutput: true,
            contentEncoding: 'PlainText',
          }),
        );
        const invocation = body?.invocations?.invocation?.[0];
        expect(invocation).toMatchObject({
          invocationStatus: 'Success',
          invokeStatus: 'Finished',
          repeatMode: 'Once',
        });
        expect(invocation?.invokeInstances?.invokeInstance).toHaveLength(2);
      });

      it('shows the last 24 KB of a long output and counts the rest as dropped', async () => {
        const [row] = await finished(
          await run([agentA.instanceId], "head -c 30000 /dev/zero | tr '\\0' x; echo; echo END"),
        );
        expect(row?.invocationStatus).toBe('Success');
        expect(row?.output).toHaveLength(24 * 1024);
        expect(row?.output?.endsWith('x\nEND\n')).toBe(true);
        expect(row?.dropped).toBe(30_005 - 24 * 1024);
      });

      it('refuses an agent channel with a wrong token', async () => {
        const url = new URL('/agent/v1/channel', server.url.replace('http:', 'ws:'));
        const status = await new Promise<number>((resolve) => {
          const ws = new WebSocket(url, {
            headers: { 'x-openassist-instance-id': agentA.instanceId, authorization: 'Bearer not-the-token' },
          });
          ws.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
          ws.on('open', () => resolve(101));
          ws.on('error', () => undefined);
        });
        expect(status).toBe(401);
      });

      it('selects instances by ResourceTag.N instead of InstanceId.N', async () => {
        await client.tagResources(
          new Ecs.TagResourcesRequest({
            regionId: region,
            resourceType: 'instance',
            resourceId: [agentA.instanceId, agentB.instanceId],
            tag: [new Ecs.TagResourcesRequestTag({ key: 'role', value: 'web' })],
          }),
        );
        const byTag = (key: string, value: string, fields: Record<string, unknown> = {}) =>
          client.runCommand(
            new Ecs.RunCommandRequest({
              regionId: region,
              type: 'RunShellScript',
              commandContent: 'echo tagged',
              resourceTag: [new Ecs.RunCommandRequestResourceTag({ key, value })],
              ...fields,
            }),
          );
        const rows = await finished((await byTag('role', 'web')).body?.invokeId ?? '');
        expect(rows.map((row) => row.instanceId).sort()).toEqual(
          [agentA.instanceId, agentB.instanceId].sort(),
        );
        expect(rows.every((row) => row.output === 'tagged\n')).toBe(true);
        await expectApiError(byTag('role', 'db'), 'InvalidResourceTag.InstanceNotFound', 400);
        await expectApiError(
          byTag('role', 'web', { instanceId: [agentA.instanceId] }),
          'InvalidResourceTag.ConflictWithInstanceIds',
          400,
        );
        await expectApiError(byTag('acs:role', 'web'), 'InvalidResourceTagKey.Malformed', 400);
      });

      it('reports a non-zero exit as Failed with ExitCodeNonzero', async () => {
        const [row] = await finished(await run([agentA.instanceId], 'echo bye; exit 7'));
        expect(row).toMatchObject({
          invocationStatus: 'Failed',
          exitCode: 7,
          errorCode: 'ExitCodeNonzero',
          output: 'bye\n',
        });
      });

      it('substitutes custom and built-in parameters of a saved command', async () => {
        const { body } = await client.createCommand(
          new Ecs.CreateCommandRequest({
            regionId: region,
            name: 'params',
            type: 'RunShellScript',
            enableParameter: true,
            commandContent: b64(
              'echo "{{greeting}}, {{name}}! [{{empty}}] {{ACS::InvokeId}} {{ACS::RegionId}} {{ACS::CommandId}}"',
            ),
          }),
        );
        const commandId = body?.commandId ?? '';
        const invoked = await client.invokeCommand(
          new Ecs.InvokeCommandRequest({
            regionId: region,
            commandId,
            instanceId: [agentA.instanceId],
            parameters: { greeting: 'Hello', name: 'Jack' },
          }),
        );
        const invokeId = invoked.body?.invokeId ?? '';
        const [row] = await finished(invokeId);
        expect(row?.output).toBe(`Hello, Jack! [] ${invokeId} ${region} ${commandId}\n`);
        const command = await client.describeCommands(
          new Ecs.DescribeCommandsRequest({ regionId: region, commandId }),
        );
        expect(command.body?.commands?.command?.[0]?.invokeTimes).toBe(1);
      });

      it('runs as another user with login-like semantics', async () => {
        const user = `oa${randomBytes(3).toString('hex')}`;
        execFileSync('useradd', ['-m', user]);
        try {
          const [row] = await finished(
            await run([agentA.instanceId], 'id -un; echo "$HOME"; pwd', { username: user }),
          );
          expect(row).toMatchObject({
            invocationStatus: 'Success',
            output: `${user}\n/home/${user}\n/home/${user}\n`,
          });
          const [missing] = await finished(
            await run([agentA.instanceId], 'true', { username: 'no-such-user-x' }),
          );
          expect(missing).toMatchObject({ invocationStatus: 'Failed', errorCode: 'AccountNotExists' });
          const [dir] = await finished(
            await run([agentA.instanceId], 'true', { workingDir: '/no/such/dir' }),
          );
          expect(dir).toMatchObject({ invocationStatus: 'Failed', errorCode: 'DirectoryNotExists' });
        } finally {
          execFileSync('userdel', ['-r', user]);
        }
      });

      it('kills the whole process tree on timeout', async () => {
        const pids = join(scratch, 'timeout-pids');
        const script = `sleep 300 & echo $! >> ${pids}; (sleep 301 & echo $! >> ${pids}); echo $$ >> ${pids}; sleep 302`;
        const [row] = await finished(await run([agentA.instanceId], script, { timeout: 10 }), 60_000);
        expect(row).toMatchObject({ invocationStatus: 'Timeout', errorCode: 'ExecutionTimeout' });
        const recorded = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
        expect(recorded).toHaveLength(3);
        for (const pid of recorded) expect(alive(pid), `pid ${pid}`).toBe(false);
      });

      it('keeps the command of RunCommand only with KeepCommand, and filters results by status', async () => {
        const kept = await client.runCommand(
          new Ecs.RunCommandRequest({
            regionId: region,
            type: 'RunShellScript',
            commandContent: 'exit 1',
            instanceId: [agentA.instanceId],
            keepCommand: true,
            name: 'kept-one',
          }),
        );
        const dropped = await client.runCommand(
          new Ecs.RunCommandRequest({
            regionId: region,
            type: 'RunShellScript',
            commandContent: 'true',
            instanceId: [agentA.instanceId],
          }),
        );
        await finished(kept.body?.invokeId ?? '');
        await finished(dropped.body?.invokeId ?? '');
        const commands = async (commandId: string) =>
          (await client.describeCommands(new Ecs.DescribeCommandsRequest({ regionId: region, commandId })))
            .body?.totalCount;
        expect(await commands(kept.body?.commandId ?? '')).toBe(1);
        expect(await commands(dropped.body?.commandId ?? '')).toBe(0);

        const failed = await client.describeInvocations(
          new Ecs.DescribeInvocationsRequest({
            regionId: region,
            invokeStatus: 'Failed',
            commandName: 'kept-one',
          }),
        );
        expect(failed.body?.invocations?.invocation?.map((i) => i.invokeId)).toEqual([kept.body?.invokeId]);
        const records = await client.describeInvocationResults(
          new Ecs.DescribeInvocationResultsRequest({
            regionId: region,
            commandId: kept.body?.commandId,
            invokeRecordStatus: 'Failed',
          }),
        );
        expect(records.body?.invocation?.invocationResults?.invocationResult).toHaveLength(1);
        await expectApiError(
          client.modifyInvocationAttribute(
            new Ecs.ModifyInvocationAttributeRequest({ regionId: region, invokeId: kept.body?.invokeId }),
          ),
          'InvalidOperation.InvokeAlreadyFinished',
          403,
        );
        await expectApiError(
          client.describeInvocations(
            new Ecs.DescribeInvocationsRequest({ regionId: region, invokeStatus: 'Sleepy' }),
          ),
          'InvalidParameter',
          400,
        );
      });

      it('stops a running invocation, leaving finished ones untouched', async () => {
        const invokeId = await run([agentA.instanceId], 'echo started; sleep 300');
        await waitStatus(invokeId, 'Running');
        // A run without an exit code yet leaves ExitCode out of the response (neither null nor 0).
        const raw = await v3Raw({
          url: server.url,
          accessKeyId: server.accessKeyId,
          accessKeySecret: server.accessKeySecret,
          action: 'DescribeInvocationResults',
          params: { RegionId: region, InvokeId: invokeId },
        });
        expect(raw.status).toBe(200);
        expect(raw.text).toContain('"InvocationStatus":"Running"');
        expect(raw.text).not.toContain('ExitCode');
        await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
        const [row] = await finished(invokeId);
        expect(row?.invocationStatus).toBe('Terminated');
        expect(row?.stopTime).toMatch(/Z$/);
        // Stopping again changes nothing.
        await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
        expect((await results(invokeId))[0]?.invocationStatus).toBe('Terminated');
        await expectApiError(
          client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId: 't-nope' })),
          'InvalidInvokeId.NotFound',
          404,
        );
        await expectApiError(
          client.stopInvocation(
            new Ecs.StopInvocationRequest({ regionId: region, invokeId, instanceId: ['mi-other'] }),
          ),
          'InvalidInstanceId.NotFound',
          404,
        );
      });
    });

    describe('faults', () => {
      it('ends a task interrupted by SIGKILL of its agent, after the restart, without running it twice', async () => {
        const agent = await startAgentProcess({
          serverUrl: server.url,
          activationId: activation.id,
          activationCode: activation.code,
          stateDir: join(scratch, 'killed-agent'),
        });
        const marker = join(scratch, 'ran-once');
        const pidFile = join(scratch, 'orphan-pid');
        const invokeId = await run(
          [agent.instanceId],
          `echo run >> ${marker}; sleep 300 & echo $! > ${pidFile}; wait`,
        );
        await waitStatus(invokeId, 'Running');
        await agent.stop('SIGKILL');
        const restarted = await startAgentProcess({ serverUrl: server.url, stateDir: agent.stateDir });
        try {
          expect(restarted.instanceId).toBe(agent.instanceId);
          const [row] = await finished(invokeId);
          expect(row).toMatchObject({ invocationStatus: 'Error', errorCode: 'ExecutionInterrupted' });
          // The restarted agent has settled its journal (every run ended, every event acknowledged):
          // a re-run would have left a run or an event there, so the marker's count is final.
          await waitFor('the restarted agent to settle its journal', () => journalSettled(agent.stateDir));
          expect((await readFile(marker, 'utf8')).trim().split('\n')).toEqual(['run']);
          // What the killed agent left running was ended by the restarted one.
          const orphan = Number(await readFile(pidFile, 'utf8'));
          await waitFor('the orphaned script to end', () => (alive(orphan) ? undefined : true));
        } finally {
          await restarted.stop();
        }
      });

      it('ends a task whose script SIGKILLs its agent as it ends, after the restart, without running it again', async () => {
        const agent = await startAgentProcess({
          serverUrl: server.url,
          activationId: activation.id,
          activationCode: activation.code,
          stateDir: join(scratch, 'killed-by-its-task'),
        });
        const marker = join(scratch, 'ran-then-killed');
        // The script has done its work when the agent dies, and the agent never sees it end.
        const invokeId = await run(
          [agent.instanceId],
          `echo run >> ${marker}; echo done; kill -KILL ${agent.child.pid}`,
        );
        expect(await agent.exited).toBeNull();
        const restarted = await startAgentProcess({ serverUrl: server.url, stateDir: agent.stateDir });
        try {
          const [row] = await finished(invokeId);
          expect(row).toMatchObject({ invocationStatus: 'Error', errorCode: 'ExecutionInterrupted' });
          expect(row?.errorInfo).toBe('the command execution has been interrupted');
          await waitFor('the restarted agent to settle its journal', () => journalSettled(agent.stateDir));
          expect((await readFile(marker, 'utf8')).trim().split('\n')).toEqual(['run']);
        } finally {
          await restarted.stop();
        }
      });

      it('aborts a task for an offline agent after the delivery timeout, and delivers one in time after a reconnect', async () => {
        const agent = await startAgentProcess({
          serverUrl: server.url,
          activationId: activation.id,
          activationCode: activation.code,
          stateDir: join(scratch, 'offline-agent'),
        });
        await agent.stop();
        const aborted = await run([agent.instanceId], 'echo never');
        const [row] = await finished(aborted);
        expect(row).toMatchObject({ invocationStatus: 'Aborted', errorCode: 'ClientNotResponse' });
        expect(row?.errorInfo).toBe('the aliyun service in the instance does not response');

        const cancelled = await run([agent.instanceId], 'echo never either');
        await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId: cancelled }));
        const [cancelledRow] = await results(cancelled);
        expect(cancelledRow?.invocationStatus).toBe('Cancelled');
        expect(cancelledRow?.invokeRecordStatus).toBe('Stopped');

        const waiting = await run([agent.instanceId], 'echo late but fine');
        const back = await startAgentProcess({ serverUrl: server.url, stateDir: agent.stateDir });
        try {
          const [late] = await finished(waiting);
          expect(late).toMatchObject({ invocationStatus: 'Success', output: 'late but fine\n' });
        } finally {
          await back.stop();
        }
        // The server learns of the closed channel asynchronously: poll until it shows.
        await waitFor('CloudAssistantStatus to turn false', async () => {
          const status = await client.describeCloudAssistantStatus(
            new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, instanceId: [agent.instanceId] }),
          );
          const online = status.body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.[0];
          return online?.cloudAssistantStatus === 'false' ? true : undefined;
        });
      });
    });

    describe('instance state', () => {
      it('is Stopped after the agent reports an OS shutdown, refuses commands, and runs again after the next hello', async () => {
        const marker = join(scratch, 'system-going-down');
        await writeFile(marker, 'System is going down.');
        const agent = await startAgentProcess({
          serverUrl: server.url,
          activationId: activation.id,
          activationCode: activation.code,
          stateDir: join(scratch, 'shutdown-agent'),
          env: { OPENASSIST_TEST_SHUTDOWN_MARKER: marker },
        });
        const status = async () =>
          (
            await client.describeInstances(
              new Ecs.DescribeInstancesRequest({
                regionId: region,
                instanceIds: JSON.stringify([agent.instanceId]),
              }),
            )
          ).body?.instances?.instance?.[0]?.status;
        expect(await status()).toBe('Running');
        await agent.stop();
        await waitFor('the instance to be Stopped', async () =>
          (await status()) === 'Stopped' ? true : undefined,
        );
        await expectApiError(
          client.runCommand(
            new Ecs.RunCommandRequest({
              regionId: region,
              type: 'RunShellScript',
              commandContent: 'true',
              instanceId: [agent.instanceId],
            }),
          ),
          'InvalidInstance.NotMatch',
          400,
        );
        const back = await startAgentProcess({ serverUrl: server.url, stateDir: agent.stateDir });
        try {
          await waitFor('the instance to run again', async () =>
            (await status()) === 'Running' ? true : undefined,
          );
        } finally {
          await back.stop();
        }
      });
    });

    describe('InvokeCommand validation (all-or-nothing, the seed error table)', () => {
      let commandId: string;
      let paramCommandId: string;
      let batCommandId: string;
      let emptyGroup: string;

      beforeAll(async () => {
        const create = async (fields: Record<string, unknown>) =>
          (
            await client.createCommand(
              new Ecs.CreateCommandRequest({
                regionId: region,
                name: 'v',
                type: 'RunShellScript',
                commandContent: b64('true'),
                ...fields,
              }),
            )
          ).body?.commandId ?? '';
        commandId = await create({});
        paramCommandId = await create({ enableParameter: true, commandContent: b64('echo {{a}} {{b}}') });
        batCommandId = await create({ type: 'RunBatScript', commandContent: b64('echo') });
        emptyGroup = await createResourceGroup(
          { url: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
          'empty-group',
        );
      });

      const invoke = (fields: Record<string, unknown>) =>
        client.invokeCommand(
          new Ecs.InvokeCommandRequest({
            regionId: region,
            commandId,
            instanceId: [agentA.instanceId],
            ...fields,
          }),
        );

      it.each([
        ['no instance', () => ({ instanceId: [] }), 'MissingParam.InstanceId', 400],
        ['an empty InstanceId.1', () => ({ instanceId: [''] }), 'MissingParam.InstanceId', 400],
        [
          'an empty InstanceId.2 beside a real one',
          () => ({ instanceId: [agentA.instanceId, ''] }),
          'MissingParam.InstanceId',
          400,
        ],
        [
          '51 instances',
          () => ({ instanceId: Array.from({ length: 51 }, (_, i) => `mi-${i}`) }),
          'InstanceIds.ExceedLimit',
          403,
        ],
        [
          'an unknown instance',
          () => ({ instanceId: [agentA.instanceId, 'mi-unknown'] }),
          'InvalidInstance.NotFound',
          404,
        ],
        ['an unknown command', () => ({ commandId: 'c-unknown' }), 'InvalidCmdId.NotFound', 404],
        ['an unknown repeat mode', () => ({ repeatMode: 'Sometimes' }), 'InvalidRepeatMode.NotFound', 404],
        ['Period without Frequency', () => ({ repeatMode: 'Period' }), 'MissingParam.Frequency', 400],
        ['an invalid Frequency', () => ({ frequency: 'rate(30s)' }), 'InvalidParam.Frequency', 400],
        [
          "the seed's malformed cron",
          () => ({ frequency: '0 0/30 10-11 * ? 2022 GMT +8:00' }),
          'InvalidParam.Frequency',
          400,
        ],
        [
          'a cron firing more often than its timeout',
          () => ({ frequency: '0/10 * * * * ?', timeout: 60 }),
          'InvalidParam.Frequency',
          400,
        ],
        [
          'an at() in the past',
          () => ({ frequency: 'at(2020-01-01 00:00:00)' }),
          'InvalidParam.Frequency',
          400,
        ],
        ['a Windows command on Linux', () => ({ commandId: batCommandId }), 'InvalidInstance.NotMatch', 400],
        [
          'Parameters on a command without them',
          () => ({ parameters: { a: '1' } }),
          'Parameter.Disabled',
          400,
        ],
        [
          'no Parameters for a command with them',
          () => ({ commandId: paramCommandId }),
          'Parameter.MissingValue',
          400,
        ],
        [
          'an undefined parameter',
          () => ({ commandId: paramCommandId, parameters: { c: '1' } }),
          'Parameter.NotMatched',
          403,
        ],
        [
          'a number as a value',
          () => ({ commandId: paramCommandId, parameters: { a: 1 } }),
          'ParameterType.NotSupported',
          403,
        ],
        [
          'eleven parameters',
          () => ({
            commandId: paramCommandId,
            parameters: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])),
          }),
          'ParameterCount.ExceedLimit',
          403,
        ],
        [
          'a 65-character key',
          () => ({ commandId: paramCommandId, parameters: { ['k'.repeat(65)]: 'v' } }),
          'ParameterKey.ExceedLimit',
          403,
        ],
        ['a 256-character Username', () => ({ username: 'u'.repeat(256) }), 'Username.ExceedLimit', 403],
        [
          'a 256-character WindowsPasswordName',
          () => ({ windowsPasswordName: 'w'.repeat(256) }),
          'WindowsPasswordName.ExceedLimit',
          403,
        ],
        [
          'a 65-character ClientToken',
          () => ({ clientToken: 'c'.repeat(65) }),
          'InvalidClientToken.Malformed',
          400,
        ],
        ['Timeout 5', () => ({ timeout: 5 }), 'InvalidParameter.Timeout', 400],
        ['a malformed ContainerId', () => ({ containerId: 'nope' }), 'InvalidContainerId.Malformed', 400],
        ['DryRun', () => ({ repeatMode: 'DryRun' }), 'DryRunOperation', 400],
        [
          'DryRun with a Frequency (validated, never scheduled)',
          () => ({ repeatMode: 'DryRun', frequency: 'rate(5m)' }),
          'DryRunOperation',
          400,
        ],
        [
          'DryRun with an invalid Frequency',
          () => ({ repeatMode: 'DryRun', frequency: 'rate(30s)' }),
          'InvalidParam.Frequency',
          400,
        ],
        [
          'an unknown resource group',
          () => ({ resourceGroupId: 'rg-none' }),
          'InvalidResourceGroup.NotFound',
          404,
        ],
        [
          'an instance outside the resource group',
          () => ({ resourceGroupId: emptyGroup }),
          'InvalidInstance.NotFound',
          404,
        ],
      ] as const)('refuses %s', async (_what, fields, code, status) => {
        const before = (
          await client.describeInvocations(new Ecs.DescribeInvocationsRequest({ regionId: region }))
        ).body?.totalCount;
        await expectApiError(invoke(fields()), code, status);
        const after = (
          await client.describeInvocations(new Ecs.DescribeInvocationsRequest({ regionId: region }))
        ).body?.totalCount;
        expect(after).toBe(before);
      });

      it('applies the 18 KB limit on content plus parameters with or without Parameters, on InvokeCommand and RunCommand', async () => {
        // 15,000 bytes are 20,000 in Base64: a saved command may be that big (24 KB), a run may not.
        const script = `#${'x'.repeat(14_998)}\n`;
        const big = await client.createCommand(
          new Ecs.CreateCommandRequest({
            regionId: region,
            name: 'big',
            type: 'RunShellScript',
            commandContent: b64(script),
          }),
        );
        const count = async () =>
          (await client.describeInvocations(new Ecs.DescribeInvocationsRequest({ regionId: region }))).body
            ?.totalCount;
        const before = await count();
        for (const fields of [{}, { parameters: {} }, { repeatMode: 'DryRun' }]) {
          await expectApiError(
            invoke({ commandId: big.body?.commandId, ...fields }),
            'CmdContent.ExceedLimit',
            403,
          );
        }
        for (const contentEncoding of ['PlainText', 'Base64']) {
          await expectApiError(
            client.runCommand(
              new Ecs.RunCommandRequest({
                regionId: region,
                type: 'RunShellScript',
                commandContent: contentEncoding === 'Base64' ? b64(script) : script,
                contentEncoding,
                instanceId: [agentA.instanceId],
              }),
            ),
            'CmdContent.ExceedLimit',
            403,
          );
        }
        expect(await count()).toBe(before);
      });

      it('refuses an empty InstanceId.N or ResourceId.N on every action that lists them', async () => {
        const empty = [''];
        await expectApiError(
          client.describeCloudAssistantStatus(
            new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, instanceId: empty }),
          ),
          'MissingParam.InstanceId',
          400,
        );
        await expectApiError(
          client.describeManagedInstances(
            new Ecs.DescribeManagedInstancesRequest({ regionId: region, instanceId: empty }),
          ),
          'MissingParam.InstanceId',
          400,
        );
        await expectApiError(
          client.stopInvocation(
            new Ecs.StopInvocationRequest({ regionId: region, invokeId: 't-none', instanceId: empty }),
          ),
          'MissingParam.InstanceId',
          400,
        );
        await expectApiError(
          client.tagResources(
            new Ecs.TagResourcesRequest({
              regionId: region,
              resourceType: 'command',
              resourceId: empty,
              tag: [new Ecs.TagResourcesRequestTag({ key: 'k', value: 'v' })],
            }),
          ),
          'MissingParameter.ResourceIds',
          404,
        );
        await expectApiError(
          client.untagResources(
            new Ecs.UntagResourcesRequest({
              regionId: region,
              resourceType: 'command',
              resourceId: [commandId],
              tagKey: empty,
            }),
          ),
          'InvalidTagKey.Malformed',
          400,
        );
        await expectApiError(
          client.describeInstances(
            new Ecs.DescribeInstancesRequest({ regionId: region, instanceIds: '[""]' }),
          ),
          'InvalidInstanceIds.Malformed',
          400,
        );
      });

      it('refuses duplicate parameter keys and content plus parameters over 18 KB', async () => {
        await expectApiError(
          client.invokeCommand(
            new Ecs.InvokeCommandRequest({
              regionId: region,
              commandId: paramCommandId,
              instanceId: [agentA.instanceId],
              parameters: { a: 'x'.repeat(14_000) },
            }),
          ),
          'CmdContent.ExceedLimit',
          403,
        );
      });
    });
  });
}
