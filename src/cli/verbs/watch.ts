import type { Command } from 'commander';
import { watchFleet } from '../../client/watch.js';
import { openSession, type SessionFlags, verb } from '../session.js';

/** `openassist watch`: the fleet's run status changes as they happen (StreamInvocationEvents). */
export function registerWatch(program: Command): void {
  verb(
    program,
    'watch',
    'print every run status change of the region as it happens (--json: one object a line)',
    'openassist watch --resource-group rg-…',
  )
    .option('--resource-group <id>', "only this resource group's runs")
    .option('--count <n>', 'stop after this many events', (value) => Number.parseInt(value, 10))
    .action(async (flags: SessionFlags & { resourceGroup?: string; count?: number }) => {
      const { config, p } = await openSession(flags);
      let seen = 0;
      for await (const event of watchFleet(config, {
        regionId: config.region,
        ...(flags.resourceGroup && { resourceGroupId: flags.resourceGroup }),
      })) {
        if (p.json) p.out.write(`${JSON.stringify(event)}\n`);
        else {
          const exit = event.ExitCode === null ? '' : ` exit ${event.ExitCode}`;
          const execution = event.Execution > 0 ? `#${event.Execution}` : '';
          p.out.write(
            `${event.UpdateTime}  ${event.InvokeId}  ${event.InstanceId}${execution}  ${event.Status}${exit}\n`,
          );
        }
        seen += 1;
        if (flags.count !== undefined && seen >= flags.count) break;
      }
    });
}
