import { useState } from 'preact/hooks';
import { call, formatTime } from './api.js';
import { CommandDialog } from './command-dialog.js';
import { ConfirmDialog, ErrorNote, PageHeading, Pager } from './components.js';
import { useLoad } from './load.js';
import { navigate } from './router.js';
import { RunDialog } from './run-dialog.js';
import type { Session } from './session.js';
import type { Command, DescribeCommandsResponse } from './wire.js';

const pageSize = 20;

type Open =
  | { readonly kind: 'none' }
  | { readonly kind: 'create' | 'script' }
  | { readonly kind: 'edit' | 'run' | 'delete'; readonly command: Command };

function DeleteDialog({
  session,
  command,
  onDone,
  onClose,
}: {
  readonly session: Session;
  readonly command: Command;
  readonly onDone: () => void;
  readonly onClose: () => void;
}) {
  return (
    <ConfirmDialog
      title={`Delete command ${command.Name}?`}
      confirmLabel="Delete"
      onConfirm={async () => {
        await call(session, 'DeleteCommand', { CommandId: command.CommandId });
        onDone();
      }}
      onClose={onClose}
    >
      <p>
        This cannot be undone. Invocations already made with <span class="id">{command.CommandId}</span> stay
        listed.
      </p>
    </ConfirmDialog>
  );
}

export function CommandsPage({ session }: { readonly session: Session }) {
  const [pageNumber, setPageNumber] = useState(1);
  const [open, setOpen] = useState<Open>({ kind: 'none' });
  const { data, error, loading, reload } = useLoad(
    () =>
      call<DescribeCommandsResponse>(session, 'DescribeCommands', {
        PageNumber: pageNumber,
        PageSize: pageSize,
        ContentEncoding: 'PlainText',
      }),
    [session, pageNumber],
  );
  const close = () => setOpen({ kind: 'none' });
  const done = () => {
    close();
    reload();
  };

  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <PageHeading>Commands</PageHeading>
        <button type="button" class="primary" onClick={() => setOpen({ kind: 'create' })}>
          New command
        </button>
        <button type="button" onClick={() => setOpen({ kind: 'script' })}>
          Run script
        </button>
        <button type="button" onClick={reload} aria-busy={loading}>
          Refresh
        </button>
      </div>
      <ErrorNote error={error} />
      {data && data.TotalCount === 0 && <p>No commands yet.</p>}
      {data && data.Commands.Command.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Saved commands, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Parameters</th>
                <th scope="col">Timeout</th>
                <th scope="col">Runs</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.Commands.Command.map((command) => (
                <tr key={command.CommandId}>
                  <th scope="row">
                    {command.Name}
                    <span class="sub id">{command.CommandId}</span>
                    {command.Description && <span class="sub">{command.Description}</span>}
                  </th>
                  <td>{command.Type}</td>
                  <td>{command.EnableParameter ? command.ParameterNames.ParameterName.join(', ') : ''}</td>
                  <td>{command.Timeout} s</td>
                  <td>{command.InvokeTimes}</td>
                  <td>{formatTime(command.CreationTime)}</td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="primary"
                      aria-label={`Run ${command.Name}`}
                      onClick={() => setOpen({ kind: 'run', command })}
                    >
                      Run
                    </button>
                    <button
                      type="button"
                      aria-label={`Edit ${command.Name}`}
                      onClick={() => setOpen({ kind: 'edit', command })}
                    >
                      Edit
                    </button>
                    <button
                      type="button"
                      class="danger"
                      aria-label={`Delete ${command.Name}`}
                      onClick={() => setOpen({ kind: 'delete', command })}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && data.TotalCount > pageSize && (
        <Pager
          pageNumber={pageNumber}
          pageSize={pageSize}
          totalCount={data.TotalCount}
          onPage={setPageNumber}
        />
      )}
      {open.kind === 'create' && <CommandDialog session={session} onDone={done} onClose={close} />}
      {open.kind === 'edit' && (
        <CommandDialog session={session} command={open.command} onDone={done} onClose={close} />
      )}
      {open.kind === 'delete' && (
        <DeleteDialog session={session} command={open.command} onDone={done} onClose={close} />
      )}
      {(open.kind === 'run' || open.kind === 'script') && (
        <RunDialog
          session={session}
          command={open.kind === 'run' ? open.command : undefined}
          onClose={close}
          onInvoked={(invokeId) => navigate({ page: 'invocation', invokeId })}
        />
      )}
    </section>
  );
}
