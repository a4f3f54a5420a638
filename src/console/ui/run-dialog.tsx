import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { call, listParams } from './api.js';
import { ErrorNote, Modal, StatusBadge } from './components.js';
import { FrequencyPreview } from './frequency-preview.js';
import { useLoad } from './load.js';
import type { Session } from './session.js';
import type { Command, DescribeManagedInstancesResponse } from './wire.js';

type Targeting = 'instances' | 'tag';
type When = 'once' | 'schedule';

/** InvokeCommand for a saved command: targets, parameter values, schedule and run options. */
export function RunDialog({
  session,
  command,
  onInvoked,
  onClose,
}: {
  readonly session: Session;
  readonly command: Command;
  readonly onInvoked: (invokeId: string) => void;
  readonly onClose: () => void;
}) {
  const instances = useLoad(
    () => call<DescribeManagedInstancesResponse>(session, 'DescribeManagedInstances', { PageSize: 50 }),
    [session],
  );
  const parameterNames = command.EnableParameter ? command.ParameterNames.ParameterName : [];
  const [targeting, setTargeting] = useState<Targeting>('instances');
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [tagKey, setTagKey] = useState('');
  const [tagValue, setTagValue] = useState('');
  const [values, setValues] = useState<Readonly<Record<string, string>>>({});
  const [when, setWhen] = useState<When>('once');
  const [frequency, setFrequency] = useState('');
  const [timeout, setTimeoutSeconds] = useState(String(command.Timeout));
  const [username, setUsername] = useState('');
  const [workingDir, setWorkingDir] = useState(command.WorkingDir);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const toggle = (instanceId: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(instanceId);
    else next.delete(instanceId);
    setChosen(next);
  };

  async function submit(event: Event) {
    event.preventDefault();
    if (targeting === 'instances' && chosen.size === 0) {
      setError(new Error('Choose at least one instance.'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const targets =
        targeting === 'instances'
          ? listParams('InstanceId', [...chosen])
          : { 'ResourceTag.1.Key': tagKey, 'ResourceTag.1.Value': tagValue || undefined };
      const { InvokeId } = await call<{ InvokeId: string }>(session, 'InvokeCommand', {
        CommandId: command.CommandId,
        ...targets,
        Parameters: parameterNames.length > 0 ? JSON.stringify(values) : undefined,
        Frequency: when === 'schedule' ? frequency.trim() : undefined,
        Timeout: timeout || undefined,
        Username: username || undefined,
        WorkingDir: workingDir || undefined,
      });
      onInvoked(InvokeId);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <Modal title={`Run ${command.Name}`} onClose={onClose} wide>
      <form class="form-grid" onSubmit={submit}>
        <fieldset class="span-2">
          <legend>Targets</legend>
          <div class="choice">
            <label class="check">
              <input
                type="radio"
                name="targeting"
                checked={targeting === 'instances'}
                onChange={() => setTargeting('instances')}
              />{' '}
              Instances
            </label>
            <label class="check">
              <input
                type="radio"
                name="targeting"
                checked={targeting === 'tag'}
                onChange={() => setTargeting('tag')}
              />{' '}
              Instances with a tag
            </label>
          </div>
          {targeting === 'instances' && (
            <>
              <ErrorNote error={instances.error} />
              {instances.data?.Instances.length === 0 && <p>No managed instances.</p>}
              <ul class="instance-choices">
                {instances.data?.Instances.map((instance) => (
                  <li key={instance.InstanceId}>
                    <label class="check">
                      <input
                        type="checkbox"
                        checked={chosen.has(instance.InstanceId)}
                        onChange={(event) => toggle(instance.InstanceId, event.currentTarget.checked)}
                      />{' '}
                      <span class="id">{instance.InstanceId}</span>{' '}
                      {instance.InstanceName || instance.Hostname}{' '}
                      <StatusBadge status={instance.Connected ? 'Online' : 'Offline'} />
                    </label>
                  </li>
                ))}
              </ul>
            </>
          )}
          {targeting === 'tag' && (
            <div class="form-grid">
              <label for="run-tag-key">Tag key</label>
              <input
                id="run-tag-key"
                required
                value={tagKey}
                onInput={(e) => setTagKey(e.currentTarget.value)}
              />
              <label for="run-tag-value">Tag value</label>
              <input
                id="run-tag-value"
                value={tagValue}
                aria-describedby="run-tag-value-hint"
                onInput={(e) => setTagValue(e.currentTarget.value)}
              />
              <p id="run-tag-value-hint" class="hint span-2">
                Empty: every instance with the key, whatever its value.
              </p>
            </div>
          )}
        </fieldset>

        {parameterNames.length > 0 && (
          <fieldset class="span-2">
            <legend>Parameters</legend>
            <div class="form-grid">
              {parameterNames.map((name) => (
                <Fragment key={name}>
                  <label for={`run-parameter-${name}`}>{name}</label>
                  <input
                    id={`run-parameter-${name}`}
                    value={values[name] ?? ''}
                    onInput={(event) => setValues({ ...values, [name]: event.currentTarget.value })}
                  />
                </Fragment>
              ))}
            </div>
          </fieldset>
        )}

        <fieldset class="span-2">
          <legend>When</legend>
          <div class="choice">
            <label class="check">
              <input type="radio" name="when" checked={when === 'once'} onChange={() => setWhen('once')} />{' '}
              Once, now
            </label>
            <label class="check">
              <input
                type="radio"
                name="when"
                checked={when === 'schedule'}
                onChange={() => setWhen('schedule')}
              />{' '}
              On a schedule
            </label>
          </div>
          {when === 'schedule' && (
            <div class="form-grid">
              <label for="run-frequency">Frequency</label>
              <input
                id="run-frequency"
                required
                placeholder="rate(5m), at(2027-01-01 09:00:00 UTC) or a cron: 0 0/5 9-17 ? * MON-FRI"
                aria-describedby="run-frequency-preview"
                value={frequency}
                onInput={(event) => setFrequency(event.currentTarget.value)}
              />
              <FrequencyPreview
                id="run-frequency-preview"
                session={session}
                frequency={frequency}
                timeoutSeconds={timeout}
              />
            </div>
          )}
        </fieldset>

        <label for="run-timeout">Timeout (seconds)</label>
        <input
          id="run-timeout"
          type="number"
          min={10}
          max={86400}
          value={timeout}
          onInput={(event) => setTimeoutSeconds(event.currentTarget.value)}
        />
        <label for="run-username">Run as user</label>
        <input
          id="run-username"
          placeholder="the agent's user (root)"
          value={username}
          onInput={(event) => setUsername(event.currentTarget.value)}
        />
        <label for="run-workdir">Working directory</label>
        <input
          id="run-workdir"
          value={workingDir}
          onInput={(event) => setWorkingDir(event.currentTarget.value)}
        />
        <ErrorNote error={error} />
        <div class="actions span-2">
          <button type="submit" class="primary" disabled={busy}>
            Run
          </button>
        </div>
      </form>
    </Modal>
  );
}
