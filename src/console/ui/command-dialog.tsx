import { useState } from 'preact/hooks';
import { call } from './api.js';
import { textToBase64 } from './bytes.js';
import { ErrorNote, Modal } from './components.js';
import { commandTypes } from './script-fields.js';
import type { Session } from './session.js';
import type { Command } from './wire.js';

/** Creates a command, or edits one (`command` given; ModifyCommand cannot change the type). */
export function CommandDialog({
  session,
  command,
  onDone,
  onClose,
}: {
  readonly session: Session;
  readonly command?: Command;
  readonly onDone: () => void;
  readonly onClose: () => void;
}) {
  const [name, setName] = useState(command?.Name ?? '');
  const [description, setDescription] = useState(command?.Description ?? '');
  const [type, setType] = useState(command?.Type ?? 'RunShellScript');
  const [content, setContent] = useState(command?.CommandContent ?? '');
  const [workingDir, setWorkingDir] = useState(command?.WorkingDir ?? '');
  const [timeout, setTimeoutSeconds] = useState(String(command?.Timeout ?? 60));
  const [enableParameter, setEnableParameter] = useState(command?.EnableParameter ?? false);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const shared = {
      Name: name,
      Description: description,
      CommandContent: textToBase64(content),
      WorkingDir: workingDir,
      Timeout: timeout,
    };
    try {
      if (command) {
        await call(session, 'ModifyCommand', { CommandId: command.CommandId, ...shared });
      } else {
        await call(session, 'CreateCommand', { ...shared, Type: type, EnableParameter: enableParameter });
      }
      onDone();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }

  return (
    <Modal title={command ? `Edit ${command.Name}` : 'New command'} onClose={onClose} wide>
      <form class="form-grid" onSubmit={submit}>
        <label for="command-name">Name</label>
        <input
          id="command-name"
          required
          maxLength={128}
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <label for="command-description">Description</label>
        <input
          id="command-description"
          maxLength={512}
          value={description}
          onInput={(event) => setDescription(event.currentTarget.value)}
        />
        <label for="command-type">Type</label>
        <select
          id="command-type"
          value={type}
          disabled={command !== undefined}
          onChange={(event) => setType(event.currentTarget.value)}
        >
          {commandTypes.map((option) => (
            <option key={option}>{option}</option>
          ))}
        </select>
        <label for="command-content">Script</label>
        <textarea
          id="command-content"
          required
          rows={10}
          spellcheck={false}
          aria-describedby="command-content-hint"
          value={content}
          onInput={(event) => setContent(event.currentTarget.value)}
        />
        <p id="command-content-hint" class="hint span-2">
          Write <code>{'{{name}}'}</code> for a parameter filled in at each run (with parameters enabled).
        </p>
        <label for="command-workdir">Working directory</label>
        <input
          id="command-workdir"
          value={workingDir}
          onInput={(event) => setWorkingDir(event.currentTarget.value)}
        />
        <label for="command-timeout">Timeout (seconds)</label>
        <input
          id="command-timeout"
          type="number"
          min={10}
          max={86400}
          value={timeout}
          onInput={(event) => setTimeoutSeconds(event.currentTarget.value)}
        />
        <span />
        <label class="check">
          <input
            type="checkbox"
            checked={enableParameter}
            disabled={command !== undefined}
            onChange={(event) => setEnableParameter(event.currentTarget.checked)}
          />{' '}
          Enable parameters
        </label>
        <ErrorNote error={error} />
        <div class="actions span-2">
          <button type="submit" class="primary" disabled={busy}>
            {command ? 'Save' : 'Create'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
