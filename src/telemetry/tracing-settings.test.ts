import { describe, expect, it } from 'vitest';
import { readEnvironment } from '../config.js';

const tracingOf = (env: Record<string, string>) => readEnvironment(env).server.tracing;

describe('tracing settings (config.ts, docs/tracing.md)', () => {
  it('is off unless an endpoint is configured', () => {
    expect(tracingOf({})).toBeUndefined();
    expect(tracingOf({ OTEL_SERVICE_NAME: 'x' })).toBeUndefined();
  });

  it('sends to <base>/v1/traces of OPENASSIST_OTLP_ENDPOINT, as openassist-server, every 5 s', () => {
    expect(tracingOf({ OPENASSIST_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'openassist-server',
      exportDelayMs: 5_000,
      sampler: { ratio: 1, parentBased: true },
    });
  });

  it("falls back to OpenTelemetry's own variables: the traces URL as it is, then the shared base", () => {
    expect(tracingOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c:4318/custom/path' })?.tracesUrl).toBe(
      'https://c:4318/custom/path',
    );
    expect(tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/base' })?.tracesUrl).toBe(
      'http://c:4318/base/v1/traces',
    );
    expect(
      tracingOf({
        OPENASSIST_OTLP_ENDPOINT: 'http://own:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://signal:4318/v1/traces',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://shared:4318',
      })?.tracesUrl,
    ).toBe('http://own:4318/v1/traces');
    expect(
      tracingOf({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://signal:4318/v1/traces',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://shared:4318',
      })?.tracesUrl,
    ).toBe('http://signal:4318/v1/traces');
  });

  it('takes the service name and batch delay, and OTEL_SDK_DISABLED=true turns it off', () => {
    const env = { OPENASSIST_OTLP_ENDPOINT: 'http://c:4318' };
    expect(tracingOf({ ...env, OTEL_SERVICE_NAME: 'fleet-a', OTEL_BSP_SCHEDULE_DELAY: '200' })).toMatchObject(
      {
        serviceName: 'fleet-a',
        exportDelayMs: 200,
      },
    );
    expect(tracingOf({ ...env, OTEL_SDK_DISABLED: 'TRUE' })).toBeUndefined();
    expect(tracingOf({ ...env, OTEL_SDK_DISABLED: 'false' })).toBeDefined();
  });

  it("takes OpenTelemetry's sampler names and a ratio, refusing others", () => {
    const env = { OPENASSIST_OTLP_ENDPOINT: 'http://c:4318' };
    const samplerOf = (more: Record<string, string>) => tracingOf({ ...env, ...more })?.sampler;
    expect(
      samplerOf({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }),
    ).toEqual({
      ratio: 0.25,
      parentBased: true,
    });
    expect(samplerOf({ OTEL_TRACES_SAMPLER: 'traceidratio' })).toEqual({ ratio: 1, parentBased: false });
    expect(samplerOf({ OTEL_TRACES_SAMPLER: 'always_off' })).toEqual({ ratio: 0, parentBased: false });
    expect(samplerOf({ OTEL_TRACES_SAMPLER: 'ALWAYS_ON' })).toEqual({ ratio: 1, parentBased: false });
    expect(() => samplerOf({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(
      /OTEL_TRACES_SAMPLER must be one of/,
    );
    expect(() => samplerOf({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG must be a ratio/,
    );
  });

  it('refuses an endpoint that is not an http(s) URL, naming the variable', () => {
    expect(() => tracingOf({ OPENASSIST_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OPENASSIST_OTLP_ENDPOINT must be an http\(s\):\/\/ URL/,
    );
    expect(() => tracingOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/?a=b' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    // Only the variable that decides is read: another program's gRPC endpoint does not stop the server.
    expect(
      tracingOf({ OPENASSIST_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4317' })
        ?.tracesUrl,
    ).toBe('http://c:4318/v1/traces');
    expect(() => tracingOf({ OPENASSIST_OTLP_ENDPOINT: 'http://c', OTEL_BSP_SCHEDULE_DELAY: '-1' })).toThrow(
      /OTEL_BSP_SCHEDULE_DELAY/,
    );
  });
});
