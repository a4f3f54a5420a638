import type { Command } from 'commander';
import { installLine, isLoopbackUrl } from '../../client/install-line.js';
import { printJson, printTable, statusText } from '../presenter.js';
import { allPages, openSession, type SessionFlags, verb } from '../session.js';

interface Activation {
  ActivationId: string;
  InstanceName: string;
  Description: string;
  InstanceCount: number;
  RegisteredCount: number;
  DeregisteredCount: number;
  IpAddressRange: string;
  TimeToLiveInHours: number;
  CreationTime: string;
  Disabled: boolean;
}

interface CreateFlags extends SessionFlags {
  name?: string;
  count?: string;
  ttlHours?: string;
  ipRange?: string;
  description?: string;
}

/** `openassist activation create|list|disable|delete`: the codes agents register with. */
export function registerActivations(program: Command): void {
  const activation = program.command('activation').description('activation codes for registering agents');
  verb(
    activation,
    'create',
    'create an activation code (shown once)',
    'openassist activation create --count 10 --ttl-hours 4 --ip-range 10.0.0.0/8',
  )
    .option('--name <name>', 'name of the instances that register with it')
    .option('--count <n>', 'how many instances may register (1-1000)')
    .option('--ttl-hours <hours>', 'hours the code stays valid (1-876000)')
    .option('--ip-range <cidr>', 'addresses allowed to register')
    .option('--description <text>', 'a description')
    .action(async (flags: CreateFlags) => {
      const { call, p, config } = await openSession(flags);
      const body = await call<{ ActivationId: string; ActivationCode: string }>('CreateActivation', {
        InstanceName: flags.name,
        InstanceCount: flags.count,
        TimeToLiveInHours: flags.ttlHours,
        IpAddressRange: flags.ipRange,
        Description: flags.description,
      });
      if (p.json) return printJson(p, body);
      const loopback = isLoopbackUrl(config.endpoint)
        ? `${p.colors.dim(`(${new URL(config.endpoint).host} is this machine's own address: use one the machines reach.)`)}\n`
        : '';
      p.out.write(
        `ActivationId    ${body.ActivationId}\nActivationCode  ${body.ActivationCode}\n\n` +
          `${p.colors.dim('The code is shown once. Add a Linux machine: run this on it as root (wget -qO- works for curl -fsSL):')}\n` +
          `  ${installLine(config.endpoint, body.ActivationId, body.ActivationCode)}\n${loopback}`,
      );
    });
  verb(activation, 'list', 'list activation codes', 'openassist activation list').action(
    async (flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      // Every page: one page of 50 left the older codes out.
      const activations = await allPages(async (NextToken) => {
        const body = await call<{ ActivationList: Activation[]; NextToken?: string }>('DescribeActivations', {
          MaxResults: 50,
          NextToken,
        });
        return { items: body.ActivationList, nextToken: body.NextToken };
      });
      if (p.json) return printJson(p, activations);
      printTable(
        p,
        ['Activation', 'Name', 'Used', 'IP range', 'Created', 'TTL (h)', 'State'],
        activations.map((item) => [
          item.ActivationId,
          item.InstanceName,
          `${item.RegisteredCount}/${item.InstanceCount}`,
          item.IpAddressRange,
          item.CreationTime,
          item.TimeToLiveInHours,
          statusText(p, item.Disabled ? 'Inactive' : 'Active'),
        ]),
      );
    },
  );
  for (const [name, action, done] of [
    ['disable', 'DisableActivation', 'disabled'],
    ['delete', 'DeleteActivation', 'deleted'],
  ] as const) {
    verb(activation, name, `${name} an activation code`, `openassist activation ${name} 4ECEEE12-…`)
      .argument('<activation-id>')
      .action(async (id: string, flags: SessionFlags) => {
        const { call, p } = await openSession(flags);
        const body = await call(action, { ActivationId: id });
        if (p.json) return printJson(p, body);
        p.out.write(`${id} ${done}\n`);
      });
  }
}
