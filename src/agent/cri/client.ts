import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** A CRI call's error: the gRPC status code and the runtime's words. */
export interface CriError extends Error {
  readonly code: grpc.status;
  readonly details: string;
}

export const isCriError = (error: unknown): error is CriError =>
  error instanceof Error && typeof (error as Partial<CriError>).code === 'number';

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

type Call<Request, Response> = (
  request: Request,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: Response) => void,
) => grpc.ClientUnaryCall;

/**
 * runtime-v1.proto as protobufjs JSON (runtime-v1.test.ts keeps the two equal). Required, not read
 * from a path beside this file: the agent's single executable carries it inside its bundle.
 */
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
const runtimeV1 = (grpc.loadPackageDefinition(definition).runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
const RuntimeService = runtimeV1.RuntimeService as grpc.ServiceClientConstructor;

/** A CRI RuntimeService client on a unix socket, with promise calls. */
export class CriClient {
  private readonly client: grpc.Client;

  constructor(socketPath: string) {
    // Output comes back in one reply: no gRPC size limit of our own (containerd stops at 16 MiB).
    this.client = new RuntimeService(`unix://${socketPath}`, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
    });
  }

  call<Response>(method: string, request: object, deadlineMs = 30_000): Promise<Response> {
    const fn = (this.client as unknown as Record<string, Call<object, Response>>)[method];
    if (!fn) return Promise.reject(new Error(`no CRI method ${method}`));
    return new Promise((resolve, reject) => {
      fn.call(
        this.client,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error, response) => (error ? reject(error) : resolve(response)),
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
