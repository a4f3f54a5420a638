import { placeholderNames } from '../../domain/parameters.js';

export const commandTypes = ['RunShellScript', 'RunPythonScript', 'RunPowerShellScript', 'RunBatScript'];

/** A script run without saving a command first (RunCommand). */
export interface ScriptDraft {
  readonly name: string;
  readonly type: string;
  readonly content: string;
  readonly enableParameter: boolean;
}

export const emptyScript: ScriptDraft = {
  name: 'console-script',
  type: 'RunShellScript',
  content: '',
  enableParameter: false,
};

/** The parameters a draft asks values for: its `{{name}}` placeholders, once parameters are enabled. */
export const draftParameterNames = (draft: ScriptDraft): string[] =>
  draft.enableParameter ? placeholderNames(draft.content).filter((name) => name !== '') : [];

/** Name, type, script and the parameters switch of an ad-hoc script, as rows of a form grid. */
export function ScriptFields({
  draft,
  onChange,
}: {
  readonly draft: ScriptDraft;
  readonly onChange: (draft: ScriptDraft) => void;
}) {
  return (
    <>
      <label for="script-name">Name</label>
      <input
        id="script-name"
        required
        maxLength={128}
        aria-describedby="script-name-hint"
        value={draft.name}
        onInput={(event) => onChange({ ...draft, name: event.currentTarget.value })}
      />
      <p id="script-name-hint" class="hint span-2">
        Shown with the invocation; no command is saved.
      </p>
      <label for="script-type">Type</label>
      <select
        id="script-type"
        value={draft.type}
        onChange={(event) => onChange({ ...draft, type: event.currentTarget.value })}
      >
        {commandTypes.map((option) => (
          <option key={option}>{option}</option>
        ))}
      </select>
      <label for="script-content">Script</label>
      <textarea
        id="script-content"
        required
        rows={8}
        spellcheck={false}
        aria-describedby="script-content-hint"
        value={draft.content}
        onInput={(event) => onChange({ ...draft, content: event.currentTarget.value })}
      />
      <p id="script-content-hint" class="hint span-2">
        Write <code>{'{{name}}'}</code> for a parameter filled in below (with parameters enabled).
      </p>
      <span />
      <label class="check">
        <input
          type="checkbox"
          checked={draft.enableParameter}
          onChange={(event) => onChange({ ...draft, enableParameter: event.currentTarget.checked })}
        />{' '}
        Enable parameters
      </label>
    </>
  );
}
