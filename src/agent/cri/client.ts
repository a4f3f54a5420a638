import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** A CRI call's error: the gRPC status code and the runtime's words. */
export interface CriError extends Error {
  readonly code: grpc.status;
  readonly details: string;
}

export const isCriError = (error: unknown): error is CriError =>
  error instanceof Error && 'code' in error && typeof error.code === 'number';

export interface CriContainer {
  readonly id: string;
  readonly metadata: { readonly name: string };
  readonly state: string;
}

export interface CriExecResult {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly exit_code: number;
}

/**
 * runtime-v1.proto as protobufjs JSON (runtime-v1.test.ts keeps the two equal). Required, not read
 * from a path beside this file: the agent's single executable carries it inside its bundle.
 */
// require() returns any: the JSON is protobufjs's own output (runtime-v1.test.ts), what fromJSON takes.
const descriptor = createRequire(import.meta.url)('./runtime-v1.json') as Parameters<
  typeof protoLoader.fromJSON
>[0];
const definition = protoLoader.fromJSON(descriptor, {
  keepCase: true,
  // int64 timestamps as strings keep their nanoseconds; enums by name; zero values present.
  longs: String,
  enums: String,
  defaults: true,
});
const runtimeService = definition['runtime.v1.RuntimeService'];
// A message or enum definition has a `format`; a service is a map of its methods.
if (!runtimeService || 'format' in runtimeService)
  throw new Error('runtime-v1.json defines no RuntimeService');
const service = runtimeService;

/** A CRI RuntimeService client on a unix socket, with promise calls. */
export class CriClient {
  private readonly client: grpc.Client;

  constructor(socketPath: string) {
    // Output comes back in one reply: no gRPC size limit of our own (containerd stops at 16 MiB).
    this.client = new grpc.Client(`unix://${socketPath}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
    });
  }

  call<Response>(method: string, request: object, deadlineMs = 30_000): Promise<Response> {
    const definition = Object.hasOwn(service, method) ? service[method] : undefined;
    if (!definition) return Promise.reject(new Error(`no CRI method ${method}`));
    return new Promise((resolve, reject) => {
      // What a generated client's method does: one unary call on the method's path.
      this.client.makeUnaryRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        // Decoded by the descriptor as the method's response message: the caller names that shape.
        (error, response) => (error ? reject(error) : resolve(response as Response)),
      );
    });
  }

  async containers(): Promise<CriContainer[]> {
    return (await this.call<{ containers: CriContainer[] }>('ListContainers', { filter: {} })).containers;
  }

  async status(id: string): Promise<CriContainer> {
    return (await this.call<{ status: CriContainer }>('ContainerStatus', { container_id: id })).status;
  }

  exec(
    id: string,
    cmd: readonly string[],
    timeoutSeconds: number,
    deadlineMs: number,
  ): Promise<CriExecResult> {
    return this.call<CriExecResult>(
      'ExecSync',
      { container_id: id, cmd, timeout: timeoutSeconds },
      deadlineMs,
    );
  }

  close(): void {
    this.client.close();
  }
}

export { grpc };
