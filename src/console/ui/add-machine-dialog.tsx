import { useState } from 'preact/hooks';
import { installLine, isLoopbackUrl } from '../../client/install-line.js';
import { call } from './api.js';
import { ErrorNote, Modal } from './components.js';
import type { Session } from './session.js';

interface CreatedActivation {
  readonly ActivationId: string;
  readonly ActivationCode: string;
}

/**
 * Creates an activation and shows the one line that installs the agent with it (docs/install.md).
 * The code is shown once, as CreateActivation returns it once.
 */
export function AddMachineDialog({
  session,
  onClose,
}: {
  readonly session: Session;
  readonly onClose: () => void;
}) {
  const [count, setCount] = useState('10');
  const [ttlHours, setTtlHours] = useState('4');
  const [ipRange, setIpRange] = useState('');
  const [created, setCreated] = useState<CreatedActivation | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setCreated(
        await call<CreatedActivation>(session, 'CreateActivation', {
          InstanceCount: count,
          TimeToLiveInHours: ttlHours,
          ...(ipRange && { IpAddressRange: ipRange }),
        }),
      );
    } catch (failure) {
      setError(failure);
    }
    setBusy(false);
  }

  if (created) {
    const line = installLine(session.endpoint, created.ActivationId, created.ActivationCode);
    return (
      <Modal title="Add a machine" onClose={onClose} wide>
        <p>
          On each Linux machine, as root, run this line. It downloads the agent from this server, checks it,
          installs it as a service and prints the new instance id. The code is shown once.
        </p>
        <label for="install-line">Install line</label>
        <textarea
          id="install-line"
          class="install-line"
          readOnly
          rows={4}
          spellcheck={false}
          value={line}
          onFocus={(event) => event.currentTarget.select()}
        />
        <p class="hint">
          Without curl: <code>wget -qO-</code> in place of <code>curl -fsSL</code>.
          {isLoopbackUrl(session.endpoint) &&
            ` ${new URL(session.endpoint).host} is this server's loopback address: other machines need one they reach.`}
        </p>
        <div class="actions">
          <button type="button" class="primary" autofocus onClick={onClose}>
            Done
          </button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal title="Add a machine" onClose={onClose}>
      <form class="form-grid" onSubmit={submit}>
        <label for="activation-count">Machines that may register</label>
        <input
          id="activation-count"
          type="number"
          min={1}
          max={1000}
          required
          value={count}
          onInput={(event) => setCount(event.currentTarget.value)}
        />
        <label for="activation-ttl">Valid for (hours)</label>
        <input
          id="activation-ttl"
          type="number"
          min={1}
          max={876000}
          required
          value={ttlHours}
          onInput={(event) => setTtlHours(event.currentTarget.value)}
        />
        <label for="activation-range">Allowed addresses</label>
        <input
          id="activation-range"
          placeholder="any (e.g. 10.0.0.0/8)"
          value={ipRange}
          onInput={(event) => setIpRange(event.currentTarget.value)}
        />
        <ErrorNote error={error} />
        <div class="actions span-2">
          <button type="submit" class="primary" disabled={busy}>
            Create activation
          </button>
        </div>
      </form>
    </Modal>
  );
}
