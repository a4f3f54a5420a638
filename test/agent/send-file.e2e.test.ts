import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endedInvocationStatuses, instanceStatuses, isFinal } from '../../src/domain/invocation-status.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type Backend, backendFactories } from '../helpers/backends.js';
import { waitFor } from '../helpers/deadline.js';
import { createResourceGroup } from '../helpers/raw-client.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const finalStatuses: readonly string[] = instanceStatuses.filter(isFinal);
const endedAggregates: readonly string[] = endedInvocationStatuses;
type SentFile = InstanceType<typeof Ecs.DescribeSendFileResultsResponseBodyInvocationsInvocation>;

for (const factory of backendFactories) {
  const available = await factory.available();
  describe.skipIf(!available)(`SendFile end to end with real agents on ${factory.name}`, () => {
    let backend: Backend;
    let server: ServerProcess;
    let client: EcsClient;
    let activation: { id: string; code: string };
    let agent: AgentProcess;
    let scratch: string;
    const user = `oaf${randomBytes(3).toString('hex')}`;
    const group = `oag${randomBytes(3).toString('hex')}`;

    const startAgent = (env: Record<string, string> = {}, stateDir?: string) =>
      startAgentProcess({
        serverUrl: server.url,
        activationId: activation.id,
        activationCode: activation.code,
        env,
        ...(stateDir !== undefined && { stateDir }),
      });

    async function send(fields: Record<string, unknown>, instanceIds = [agent.instanceId]) {
      const { body } = await client.sendFile(
        new Ecs.SendFileRequest({
          regionId: region,
          name: 'app.conf',
          content: 'port=80\n',
          targetDir: join(scratch, 'etc'),
          instanceId: instanceIds,
          ...fields,
        }),
      );
      expect(body?.invokeId).toMatch(/^f-[0-9a-f]{32}$/);
      return body?.invokeId ?? '';
    }

    async function describeSent(fields: Record<string, unknown>) {
      const { body } = await client.describeSendFileResults(
        new Ecs.DescribeSendFileResultsRequest({ regionId: region, ...fields }),
      );
      if (!body) throw new Error('DescribeSendFileResults answered no body');
      return body;
    }

    /** Polls DescribeSendFileResults until every instance of the send has a final status. */
    const finished = (invokeId: string, timeoutMs = 30_000): Promise<SentFile> =>
      waitFor(
        `${invokeId} to finish`,
        async () => {
          const sent = (await describeSent({ invokeId })).invocations?.invocation?.[0];
          const rows = sent?.invokeInstances?.invokeInstance ?? [];
          // The invocation is read before its rows: wait for both to have ended.
          const ended =
            endedAggregates.includes(sent?.invocationStatus ?? '') &&
            rows.length > 0 &&
            rows.every((row) => finalStatuses.includes(row.invocationStatus ?? ''));
          return ended ? sent : undefined;
        },
        timeoutMs,
      );

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'openassist-send-file-'));
      execFileSync('groupadd', [group]);
      execFileSync('useradd', ['-M', '-N', '-g', group, user]);
      backend = factory.make();
      server = await startServerProcess({ databaseUrl: backend.databaseUrl });
      client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
      const { body } = await client.createActivation(
        new Ecs.CreateActivationRequest({ regionId: region, instanceCount: 5, instanceName: 'files' }),
      );
      activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
      agent = await startAgent();
    });

    afterAll(async () => {
      await agent?.stop();
      expect(await server?.stop()).toBe(0);
      await backend?.dispose();
      await rm(scratch, { recursive: true, force: true });
      execFileSync('userdel', [user]);
      execFileSync('groupdel', [group]);
    });

    it('lands a file with its content, owner, group and mode, making the missing dir, and describes it', async () => {
      const targetDir = join(scratch, 'made', 'for', 'it');
      const invokeId = await send({
        targetDir,
        fileOwner: user,
        fileGroup: group,
        fileMode: '0640',
        description: 'the config',
        timeout: 5,
        tag: [new Ecs.SendFileRequestTag({ key: 'app', value: 'web' })],
      });
      const sent = await finished(invokeId);
      const target = join(targetDir, 'app.conf');
      expect(await readFile(target, 'utf8')).toBe('port=80\n');
      const info = await stat(target);
      const ids = (flag: string, name: string) => Number(execFileSync('id', [flag, name]).toString());
      expect({ uid: info.uid, gid: info.gid, mode: info.mode & 0o7777 }).toEqual({
        uid: ids('-u', user),
        gid: ids('-g', user),
        mode: 0o640,
      });
      expect((await stat(targetDir)).mode & 0o777).toBe(0o755);
      expect(await readdir(targetDir)).toEqual(['app.conf']);
      expect(sent).toMatchObject({
        invokeId,
        name: 'app.conf',
        description: 'the config',
        content: 'port=80\n',
        contentType: 'PlainText',
        targetDir,
        fileOwner: user,
        fileGroup: group,
        fileMode: '0640',
        overwrite: 'false',
        invocationStatus: 'Success',
        vmCount: 1,
        tags: { tag: [{ tagKey: 'app', tagValue: 'web' }] },
      });
      expect(sent.creationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const [row] = sent.invokeInstances?.invokeInstance ?? [];
      expect(row).toMatchObject({
        instanceId: agent.instanceId,
        invocationStatus: 'Success',
        errorCode: '',
        errorInfo: '',
      });
      for (const time of [row?.creationTime, row?.startTime, row?.finishTime, row?.updateTime]) {
        expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }
    });

    it('without Overwrite refuses with FileAlreadyExists and keeps the old content; with it replaces', async () => {
      const targetDir = join(scratch, 'overwrite');
      await mkdir(targetDir);
      await writeFile(join(targetDir, 'app.conf'), 'old\n');
      const refused = await finished(await send({ targetDir, content: 'new\n' }));
      expect(refused).toMatchObject({ invocationStatus: 'Failed' });
      expect(refused.invokeInstances?.invokeInstance?.[0]).toMatchObject({
        invocationStatus: 'Failed',
        errorCode: 'FileAlreadyExists',
      });
      expect(refused.invokeInstances?.invokeInstance?.[0]?.errorInfo).toContain('already exists');
      expect(await readFile(join(targetDir, 'app.conf'), 'utf8')).toBe('old\n');
      const replaced = await finished(
        await send({
          targetDir,
          content: Buffer.from('new\n').toString('base64'),
          contentType: 'Base64',
          overwrite: true,
        }),
      );
      expect(replaced).toMatchObject({
        invocationStatus: 'Success',
        overwrite: 'true',
        contentType: 'Base64',
      });
      expect(replaced.content).toBe(Buffer.from('new\n').toString('base64'));
      expect(await readFile(join(targetDir, 'app.conf'), 'utf8')).toBe('new\n');
      expect(await readdir(targetDir)).toEqual(['app.conf']);
    });

    it('places one send from two agents into one shared directory, neither writing into the other', async () => {
      // Two instances on one host (or one NFS mount): each agent's temporary file is its own.
      const second = await startAgent();
      try {
        const targetDir = join(scratch, 'shared');
        for (let round = 0; round < 3; round++) {
          const sent = await finished(
            await send({ targetDir, content: `round ${round}\n`, overwrite: true }, [
              agent.instanceId,
              second.instanceId,
            ]),
          );
          expect(sent.invokeInstances?.invokeInstance?.map((row) => row.invocationStatus)).toEqual([
            'Success',
            'Success',
          ]);
          expect(await readFile(join(targetDir, 'app.conf'), 'utf8')).toBe(`round ${round}\n`);
          expect(await readdir(targetDir)).toEqual(['app.conf']);
        }
      } finally {
        await second.stop();
      }
    });

    it('answers a repeated ClientToken with the first InvokeId, sending the file once', async () => {
      const targetDir = join(scratch, 'idempotent');
      const clientToken = `tok-${randomBytes(4).toString('hex')}`;
      const first = await send({ targetDir, clientToken });
      expect(await send({ targetDir, clientToken })).toBe(first);
      expect((await finished(first)).invocationStatus).toBe('Success');
      expect(
        (
          await describeSent({ name: 'app.conf', instanceId: agent.instanceId, pageSize: 50 })
        ).invocations?.invocation?.filter((sent) => sent.targetDir === targetDir),
      ).toHaveLength(1);
    });

    it('fails an unknown owner or group on the instance with an honest code, creating nothing', async () => {
      const targetDir = join(scratch, 'accounts');
      const owner = await finished(await send({ targetDir, fileOwner: 'no-such-user-oa' }));
      expect(owner.invokeInstances?.invokeInstance?.[0]).toMatchObject({
        invocationStatus: 'Failed',
        errorCode: 'AccountNotExists',
      });
      const groupless = await finished(await send({ targetDir, fileGroup: 'no-such-group-oa' }));
      expect(groupless.invokeInstances?.invokeInstance?.[0]).toMatchObject({
        invocationStatus: 'Failed',
        errorCode: 'GroupNotExists',
      });
      expect(existsSync(targetDir)).toBe(false);
    });

    it('refuses content one byte over 32 KB once encoded, creating nothing', async () => {
      const before = (await describeSent({ name: 'big.bin' })).totalCount;
      const atLimit = 'x'.repeat(24_576); // 32768 bytes of Base64
      await expectApiError(send({ name: 'big.bin', content: `${atLimit}x` }), 'FileContent.ExceedLimit', 403);
      await expectApiError(
        send({
          name: 'big.bin',
          contentType: 'Base64',
          content: `${Buffer.from(atLimit).toString('base64')}A`,
        }),
        'FileContent.ExceedLimit',
        403,
      );
      expect((await describeSent({ name: 'big.bin' })).totalCount).toBe(before);
      expect(existsSync(join(scratch, 'etc', 'big.bin'))).toBe(false);
      // The limit itself is accepted and lands whole.
      const sent = await finished(await send({ name: 'big.bin', content: atLimit }));
      expect(sent.invocationStatus).toBe('Success');
      expect(await readFile(join(scratch, 'etc', 'big.bin'), 'utf8')).toBe(atLimit);
    });

    it.each([
      ['no Name', { name: undefined }, 'MissingParameter', 400],
      ['a Name with a slash', { name: '../x' }, 'InvalidFileName.Malformed', 400],
      ['a relative TargetDir', { targetDir: 'etc' }, 'InvalidTargetDir.Malformed', 400],
      ['a Windows TargetDir on Linux', { targetDir: 'C:\\app' }, 'InvalidInstance.NotMatch', 400],
      ['a symbolic FileMode', { fileMode: 'u+x' }, 'InvalidFileMode.Malformed', 400],
      ['an unknown ContentType', { contentType: 'Hex' }, 'InvalidParameter.ContentType', 400],
      ['no instance', { instanceId: [] }, 'MissingParam.InstanceId', 400],
      ['an unknown instance', { instanceId: ['mi-unknown'] }, 'InvalidInstance.NotFound', 404],
      ['an unknown resource group', { resourceGroupId: 'rg-unknown' }, 'InvalidResourceGroup.NotFound', 404],
    ])('refuses %s with %s', async (_, fields, code, status) => {
      await expectApiError(
        client.sendFile(
          new Ecs.SendFileRequest({
            regionId: region,
            name: 'x.conf',
            content: 'x',
            targetDir: '/tmp',
            instanceId: [agent.instanceId],
            ...fields,
          }),
        ),
        code,
        status,
      );
    });

    it('keeps files and commands apart: each Describe shows only its own', async () => {
      const invokeId = await send({ name: 'apart.conf' });
      await finished(invokeId);
      const invocations = await client.describeInvocations(
        new Ecs.DescribeInvocationsRequest({ regionId: region, pageSize: 50 }),
      );
      expect(invocations.body?.invocations?.invocation?.map((i) => i.invokeId)).not.toContain(invokeId);
      const named = await client.describeInvocations(
        new Ecs.DescribeInvocationsRequest({ regionId: region, invokeId }),
      );
      expect(named.body?.totalCount).toBe(0);
      const results = await client.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId }),
      );
      expect(results.body?.invocation?.totalCount).toBe(0);
      await expectApiError(
        client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId })),
        'InvalidInvokeId.NotFound',
        404,
      );
      const run = await client.runCommand(
        new Ecs.RunCommandRequest({
          regionId: region,
          type: 'RunShellScript',
          commandContent: 'true',
          instanceId: [agent.instanceId],
        }),
      );
      const commandInvokeId = run.body?.invokeId ?? '';
      expect((await describeSent({ invokeId: commandInvokeId })).totalCount).toBe(0);
      const all = await describeSent({ pageSize: 50 });
      expect(all.invocations?.invocation?.every((sent) => sent.invokeId?.startsWith('f-'))).toBe(true);
    });

    it('pages both ways and filters by every field', async () => {
      const groupId = await createResourceGroup(
        { url: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
        `files-${factory.name}`,
      );
      const other = await startAgent();
      try {
        await client.joinResourceGroup(
          new Ecs.JoinResourceGroupRequest({
            regionId: region,
            resourceType: 'instance',
            resourceId: other.instanceId,
            resourceGroupId: groupId,
          }),
        );
        const targetDir = join(scratch, 'paged');
        const ids: string[] = [];
        for (const name of ['p1.conf', 'p2.conf', 'p3.conf']) {
          ids.push(
            await send(
              {
                name,
                targetDir,
                resourceGroupId: groupId,
                tag: [new Ecs.SendFileRequestTag({ key: 'batch', value: 'paged' })],
              },
              [other.instanceId],
            ),
          );
        }
        for (const id of ids) await finished(id);
        // A failed one on the same instance, to filter by status.
        const failedId = await send({ name: 'p1.conf', targetDir, resourceGroupId: groupId }, [
          other.instanceId,
        ]);
        await finished(failedId);
        const filter = { resourceGroupId: groupId };

        const first = await describeSent({ ...filter, pageSize: 2, pageNumber: 1 });
        const second = await describeSent({ ...filter, pageSize: 2, pageNumber: 2 });
        expect([first.totalCount, first.pageNumber, first.pageSize]).toEqual([4, 1, 2]);
        const paged = [...(first.invocations?.invocation ?? []), ...(second.invocations?.invocation ?? [])];
        expect(paged.map((sent) => sent.invokeId).sort()).toEqual([...ids, failedId].sort());

        const tokens: string[] = [];
        let nextToken: string | undefined;
        do {
          const page = await describeSent({ ...filter, maxResults: 3, ...(nextToken && { nextToken }) });
          tokens.push(...(page.invocations?.invocation?.map((sent) => sent.invokeId ?? '') ?? []));
          nextToken = page.nextToken || undefined;
        } while (nextToken);
        expect(tokens.sort()).toEqual([...ids, failedId].sort());
        // The two styles are exclusive, as in every other Describe* action.
        await expectApiError(
          describeSent({ ...filter, maxResults: 2, pageNumber: 1 }),
          'InvalidParameter',
          400,
        );

        const idsOf = async (fields: Record<string, unknown>) =>
          ((await describeSent({ pageSize: 50, ...fields })).invocations?.invocation ?? [])
            .map((sent) => sent.invokeId)
            .sort();
        expect(await idsOf({ invokeId: ids[1] })).toEqual([ids[1]]);
        expect(await idsOf({ instanceId: other.instanceId })).toEqual([...ids, failedId].sort());
        expect(await idsOf({ ...filter, name: 'p1.conf' })).toEqual([ids[0], failedId].sort());
        expect(await idsOf({ ...filter, invocationStatus: 'Failed' })).toEqual([failedId]);
        expect(await idsOf({ ...filter, invocationStatus: 'Success' })).toEqual([...ids].sort());
        expect(
          await idsOf({ tag: [new Ecs.DescribeSendFileResultsRequestTag({ key: 'batch', value: 'paged' })] }),
        ).toEqual([...ids].sort());
        await expectApiError(describeSent({ invocationStatus: 'Sometimes' }), 'InvalidParameter', 400);
      } finally {
        await other.stop();
      }
    });

    it('fails an instance whose agent is too old for files with ClientNeedUpgrade, sending it nothing', async () => {
      const old = await startAgent({ OPENASSIST_TEST_AGENT_VERSION: '0.3.0' });
      try {
        const targetDir = join(scratch, 'old-agent');
        const sent = await finished(await send({ targetDir }, [old.instanceId, agent.instanceId]));
        const byInstance = new Map(sent.invokeInstances?.invokeInstance?.map((row) => [row.instanceId, row]));
        expect(byInstance.get(old.instanceId)).toMatchObject({
          invocationStatus: 'Invalid',
          errorCode: 'ClientNeedUpgrade',
        });
        expect(byInstance.get(agent.instanceId)).toMatchObject({ invocationStatus: 'Success' });
        expect(sent.invocationStatus).toBe('PartialFailed');
      } finally {
        await old.stop();
      }
    });

    it('leaves the old file or the new one when the agent is killed mid-write, and reports the run interrupted', async () => {
      const marker = join(scratch, 'paused-mid-write');
      const writer = await startAgent({ OPENASSIST_TEST_FILE_WRITE_PAUSE: marker });
      const targetDir = join(scratch, 'crash');
      await mkdir(targetDir);
      await writeFile(join(targetDir, 'app.conf'), 'old\n');
      const invokeId = await send(
        { targetDir, content: 'new content, long enough to cut\n', overwrite: true },
        [writer.instanceId],
      );
      await waitFor('the write to pause halfway', () => (existsSync(marker) ? true : undefined));
      const temp = join(targetDir, `.openassist-send-${invokeId}-${writer.instanceId}.tmp`);
      expect(await readFile(temp, 'utf8')).toBe('new content, lon');
      await writer.stop('SIGKILL');
      expect(await readFile(join(targetDir, 'app.conf'), 'utf8')).toBe('old\n');

      const restarted = await startAgent({}, writer.stateDir);
      try {
        const sent = await finished(invokeId);
        expect(sent.invokeInstances?.invokeInstance?.[0]).toMatchObject({
          invocationStatus: 'Error',
          errorCode: 'ExecutionInterrupted',
        });
        expect(sent.invokeInstances?.invokeInstance?.[0]?.errorInfo).toContain('never part of one');
        expect(await readdir(targetDir)).toEqual(['app.conf']);
        expect(await readFile(join(targetDir, 'app.conf'), 'utf8')).toBe('old\n');
      } finally {
        await restarted.stop();
        await rm(writer.stateDir, { recursive: true, force: true });
      }
    });
  });
}
