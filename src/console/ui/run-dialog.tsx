import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { call, listParams } from './api.js';
import { textToBase64 } from './bytes.js';
import { ErrorNote, Modal } from './components.js';
import { FrequencyPreview } from './frequency-preview.js';
import { TargetsFieldset, useTargets } from './instance-choices.js';
import { draftParameterNames, emptyScript, ScriptFields } from './script-fields.js';
import type { Session } from './session.js';
import type { Command } from './wire.js';

type When = 'once' | 'schedule';

/**
 * Runs a saved command (InvokeCommand), or with no `command` a script typed here (RunCommand, which
 * saves nothing): targets, parameter values, schedule and run options.
 */
export function RunDialog({
  session,
  command,
  onInvoked,
  onClose,
}: {
  readonly session: Session;
  readonly command?: Command;
  readonly onInvoked: (invokeId: string) => void;
  readonly onClose: () => void;
}) {
  const [script, setScript] = useState(emptyScript);
  const parameterNames = command
    ? command.EnableParameter
      ? command.ParameterNames.ParameterName
      : []
    : draftParameterNames(script);
  const [targets, setTargets] = useTargets();
  const { targeting, chosen, tagKey, tagValue } = targets;
  const [values, setValues] = useState<Readonly<Record<string, string>>>({});
  const [when, setWhen] = useState<When>('once');
  const [frequency, setFrequency] = useState('');
  const [timeout, setTimeoutSeconds] = useState(String(command?.Timeout ?? 60));
  const [username, setUsername] = useState('');
  const [workingDir, setWorkingDir] = useState(command?.WorkingDir ?? '');
  // A rolling run (an extension, once only): the server releases the instances a few at a time.
  const [maxConcurrency, setMaxConcurrency] = useState('');
  const [maxErrors, setMaxErrors] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  /** The saved command, or the script to run once. */
  const what = () =>
    command
      ? { action: 'InvokeCommand', params: { CommandId: command.CommandId } }
      : {
          action: 'RunCommand',
          params: {
            Name: script.name,
            Type: script.type,
            CommandContent: textToBase64(script.content),
            ContentEncoding: 'Base64',
            EnableParameter: script.enableParameter,
          },
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
      // Only the values of the parameters the script has now (a name typed and removed is left out).
      const parameters = Object.fromEntries(parameterNames.map((name) => [name, values[name] ?? '']));
      const { action, params } = what();
      const { InvokeId } = await call<{ InvokeId: string }>(session, action, {
        ...params,
        ...targets,
        Parameters: parameterNames.length > 0 ? JSON.stringify(parameters) : undefined,
        Frequency: when === 'schedule' ? frequency.trim() : undefined,
        Timeout: timeout || undefined,
        Username: username || undefined,
        WorkingDir: workingDir || undefined,
        MaxConcurrency: when === 'once' ? maxConcurrency.trim() || undefined : undefined,
        MaxErrors: when === 'once' && maxConcurrency.trim() ? maxErrors.trim() || undefined : undefined,
      });
      onInvoked(InvokeId);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <Modal title={command ? `Run ${command.Name}` : 'Run a script'} onClose={onClose} wide>
      <form class="form-grid" onSubmit={submit}>
        {!command && <ScriptFields draft={script} onChange={setScript} />}
        <TargetsFieldset
          idPrefix="run"
          session={session}
          targets={targets}
          onChange={setTargets}
          tagValueHint="Empty: every instance with the key, whatever its value."
        />

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
          {when === 'once' && (
            <div class="form-grid">
              <label for="run-max-concurrency">At most at once</label>
              <input
                id="run-max-concurrency"
                placeholder="all (or a count such as 10, or 10%)"
                pattern="\d+%?"
                value={maxConcurrency}
                onInput={(event) => setMaxConcurrency(event.currentTarget.value)}
              />
              <label for="run-max-errors">Stop after failures</label>
              <input
                id="run-max-errors"
                placeholder="never (or more than a count such as 2, or 5%)"
                pattern="\d+%?"
                disabled={maxConcurrency.trim() === ''}
                value={maxErrors}
                onInput={(event) => setMaxErrors(event.currentTarget.value)}
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
