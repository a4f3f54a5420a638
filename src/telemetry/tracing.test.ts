import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { type RpcOutcome, Tracing } from './tracing.js';

const settings = {
  tracesUrl: 'http://127.0.0.1:9/v1/traces',
  serviceName: 'openassist-test',
  exportDelayMs: 60_000,
  sampler: { ratio: 1, parentBased: true },
};

/** One request through `Tracing.rpc`, ending with `outcome`; returns its span. */
async function rpcSpan(outcome: RpcOutcome, traceparent?: string): Promise<ReadableSpan | undefined> {
  const exporter = new InMemorySpanExporter();
  const tracing = Tracing.start(
    settings,
    { id: 'node-1', version: '1.2.3' },
    pino({ level: 'silent' }),
    exporter,
  );
  await tracing.rpc({ id: 'REQ-1', traceparent }, async (done) => done(outcome));
  await tracing.flush();
  const [span] = exporter.getFinishedSpans();
  await tracing.shutdown();
  return span;
}

describe('the rpc span of an API request', () => {
  it('is a SERVER span named after the action, with the request id, status and resource', async () => {
    const span = await rpcSpan({ action: 'InvokeCommand', status: 200, code: '' });
    expect(span?.name).toBe('rpc InvokeCommand');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.attributes).toEqual({
      'rpc.system': 'alibaba_cloud_rpc',
      'rpc.method': 'InvokeCommand',
      'openassist.request_id': 'REQ-1',
      'http.response.status_code': 200,
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.resource.attributes).toMatchObject({
      'service.name': 'openassist-test',
      'service.version': '1.2.3',
      'service.instance.id': 'node-1',
    });
  });

  it('carries a refusal as its error code, and marks only a 5xx as failed', async () => {
    const refused = await rpcSpan({ action: 'InvokeCommand', status: 404, code: 'InvalidInstance.NotFound' });
    expect(refused?.attributes).toMatchObject({ 'openassist.error_code': 'InvalidInstance.NotFound' });
    expect(refused?.status.code).toBe(SpanStatusCode.UNSET);
    const failed = await rpcSpan({ action: 'InvokeCommand', status: 500, code: 'InternalError' });
    expect(failed?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'InternalError' });
  });

  it('is named `rpc` alone when the request named no action, or one no action could be called', async () => {
    expect((await rpcSpan({ action: '', status: 400, code: 'IncompleteSignature' }))?.name).toBe('rpc');
    const odd = await rpcSpan({
      action: `Invoke Command${'x'.repeat(100)}`,
      status: 404,
      code: 'InvalidAction.NotFound',
    });
    expect(odd?.name).toBe('rpc');
    expect(odd?.attributes['rpc.method']).toBeUndefined();
  });

  it("joins the trace of the request's traceparent header, ignoring a malformed one", async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const child = await rpcSpan({ action: 'DescribeRegions', status: 200, code: '' }, traceparent);
    expect(child?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(child?.parentSpanContext).toMatchObject({ spanId: '00f067aa0ba902b7', isRemote: true });
    const root = await rpcSpan({ action: 'DescribeRegions', status: 200, code: '' }, 'garbage');
    expect(root?.parentSpanContext).toBeUndefined();
    // An unsampled caller's request is not recorded (the default sampler follows the caller).
    const unsampled = await rpcSpan(
      { action: 'DescribeRegions', status: 200, code: '' },
      traceparent.replace(/01$/, '00'),
    );
    expect(unsampled).toBeUndefined();
  });
});
