import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { FastifyBaseLogger } from 'fastify';
import type { TracingSettings } from '../config.js';
import { parseTraceparent } from '../protocol/trace-context.js';

// The server's traces (docs/tracing.md). A server with tracing off has no Tracing at all: every
// caller holds `Tracing | undefined` and does nothing extra without one, so no tracer, context
// store or exporter exists. With it on, the provider is this server's own (never registered
// globally), so two servers in one process keep their traces apart, and the active span travels
// in an AsyncLocalStorage of this instance, not in a global context manager.

/** Spans waiting for export past this are dropped (the batch processor's bound). */
const maxQueuedSpans = 4096;
/** How long one export, and the flush at close, may take. */
const exportTimeoutMs = 10_000;
/** A failing collector is logged once per this period, not once per batch. */
const failureLogIntervalMs = 60_000;
/** Child spans one span gets from `childCall`: a stream that polls the store for an hour would otherwise make thousands. */
export const maxChildCalls = 128;

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** The parent; absent: the span the caller runs in, else a new trace. */
  readonly parent?: Context;
}

/** What the RPC path tells its span once it knows: the action, the HTTP status, the error code. */
export interface RpcOutcome {
  readonly action: string;
  readonly status: number;
  readonly code: string;
}

/** An action name fit to name a span: what a client sends is bounded before it names anything. */
const actionNamePattern = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';

/** The sampler the settings name: a share of new traces, and a request's own flag when parent-based. */
function samplerOf({ ratio, parentBased }: TracingSettings['sampler']): Sampler {
  const root =
    ratio >= 1
      ? new AlwaysOnSampler()
      : ratio <= 0
        ? new AlwaysOffSampler()
        : new TraceIdRatioBasedSampler(ratio);
  return parentBased ? new ParentBasedSampler({ root }) : root;
}

/** Marks a span failed with the error's class (never its message, which may hold a parameter). */
function failed(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : typeof error;
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** Hands spans to the OTLP exporter; a collector that refuses them is logged, at most once a minute. */
class LoggedExporter implements SpanExporter {
  private lastLoggedMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: FastifyBaseLogger,
    private readonly url: string,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS && Date.now() - this.lastLoggedMs > failureLogIntervalMs) {
        this.lastLoggedMs = Date.now();
        this.logger.warn(
          { url: this.url, spans: spans.length, err: result.error },
          'exporting spans failed; they are dropped',
        );
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** This server's tracer, its exporter, and the span each piece of work runs in. */
export class Tracing {
  private readonly active = new AsyncLocalStorage<Context>();
  /** How many child calls each span has had (`maxChildCalls`). */
  private readonly childCalls = new WeakMap<Span, number>();

  private constructor(
    readonly tracer: Tracer,
    private readonly provider: BasicTracerProvider,
    private readonly processor: BatchSpanProcessor,
  ) {}

  /**
   * A provider of this server's own, exporting in batches to `settings.tracesUrl` (OTLP/HTTP,
   * JSON), or to `exporter` (unit tests keep spans in memory).
   */
  static start(
    settings: TracingSettings,
    node: { readonly id: string; readonly version: string },
    logger: FastifyBaseLogger,
    exporter: SpanExporter = new OTLPTraceExporter({
      url: settings.tracesUrl,
      timeoutMillis: exportTimeoutMs,
    }),
  ): Tracing {
    const logged = new LoggedExporter(exporter, logger, settings.tracesUrl);
    const processor = new BatchSpanProcessor(logged, {
      scheduledDelayMillis: settings.exportDelayMs,
      maxQueueSize: maxQueuedSpans,
      exportTimeoutMillis: exportTimeoutMs,
    });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: settings.serviceName,
        [ATTR_SERVICE_VERSION]: node.version,
        // Which node of a cluster a span comes from.
        'service.instance.id': node.id,
      }),
      sampler: samplerOf(settings.sampler),
      spanProcessors: [processor],
    });
    return new Tracing(provider.getTracer('openassist-server', node.version), provider, processor);
  }

  /** The context of the span the caller runs in, if any. */
  activeContext(): Context | undefined {
    return this.active.getStore();
  }

  /** Runs `work` in a new span (a child of `options.parent`, else of the caller's span), ended when it settles. */
  async inSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
    const parent = options.parent ?? this.active.getStore() ?? ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      name,
      {
        kind: options.kind ?? SpanKind.INTERNAL,
        ...(options.attributes && { attributes: options.attributes }),
      },
      parent,
    );
    try {
      // A span the sampler left out has no children worth a context: its work runs as it is.
      if (!span.isRecording()) return await work(span);
      return await this.active.run(trace.setSpan(parent, span), () => work(span));
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Runs `call` in a child span of the caller's, when the caller's span records and has had fewer
   * than `maxChildCalls`; else simply runs it (work outside a traced request, such as the sweeps,
   * makes no spans). A promise's span ends when it settles.
   */
  childCall<T>(name: string, call: () => T): T {
    const parent = this.active.getStore();
    const parentSpan = parent && trace.getSpan(parent);
    if (!parent || !parentSpan?.isRecording()) return call();
    const calls = this.childCalls.get(parentSpan) ?? 0;
    if (calls >= maxChildCalls) return call();
    this.childCalls.set(parentSpan, calls + 1);
    const span = this.tracer.startSpan(name, { kind: SpanKind.INTERNAL }, parent);
    let result: T;
    try {
      result = this.active.run(trace.setSpan(parent, span), call);
    } catch (error) {
      failed(span, error);
      span.end();
      throw error;
    }
    if (!isThenable(result)) {
      span.end();
      return result;
    }
    return result.then(
      (value) => {
        span.end();
        return value;
      },
      (error: unknown) => {
        failed(span, error);
        span.end();
        throw error;
      },
    ) as T;
  }

  /**
   * The `rpc <Action>` span of one API request (SERVER kind): a child of the request's own
   * `traceparent` header when it carries a valid one, else a new trace's root.
   */
  rpc(
    request: { readonly id: string; readonly traceparent: string | string[] | undefined },
    serve: (outcome: (result: RpcOutcome) => void) => Promise<void>,
  ): Promise<void> {
    const header = parseTraceparent(
      Array.isArray(request.traceparent) ? request.traceparent[0] : request.traceparent,
    );
    const parent = header
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId: header.traceId,
          spanId: header.spanId,
          traceFlags: header.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
          isRemote: true,
        })
      : ROOT_CONTEXT;
    const attributes = { 'rpc.system': 'alibaba_cloud_rpc', 'openassist.request_id': request.id };
    return this.inSpan('rpc', { kind: SpanKind.SERVER, attributes, parent }, (span) =>
      serve(({ action, status, code }) => {
        if (actionNamePattern.test(action)) {
          span.updateName(`rpc ${action}`);
          span.setAttribute('rpc.method', action);
        }
        span.setAttribute('http.response.status_code', status);
        if (code) {
          span.setAttribute('openassist.error_code', code);
          span.setAttribute('error.type', code);
        }
        // As for HTTP servers: a refusal (4xx) is the client's doing, a 5xx the server's failure.
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      }),
    );
  }

  /** Hands spans recorded elsewhere (the agents') to this server's exporter, as if ended here. */
  exportEnded(spans: readonly ReadableSpan[]): void {
    for (const span of spans) this.processor.onEnd(span);
  }

  /** Sends the spans ended so far now, not at the batch's time. */
  flush(): Promise<void> {
    return this.provider.forceFlush();
  }

  /** Sends what is waiting and stops exporting (server close); bounded by the export timeout. */
  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.provider.shutdown(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, exportTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }
}
