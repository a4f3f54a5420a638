import { describe, expect, it } from 'vitest';
import {
  executionException,
  executionMissed,
  type RunErrorCode,
  runError,
  runErrorInfo,
} from './run-errors.js';

describe('run error texts', () => {
  // Alibaba's documented ErrorInfo strings, word for word (fact sheet §5).
  const alibaba: [RunErrorCode, string][] = [
    ['InstanceNotExists', 'the specified instance does not exists'],
    ['InstanceReleased', 'the instance has released when create task'],
    ['InstanceNotRunning', 'the instance is not running when create task'],
    ['CommandNotApplicable', 'the command is not applicable'],
    ['AccountNotExists', 'the specified account does not exists'],
    ['DirectoryNotExists', 'the specified directory does not exists'],
    ['BadCronExpression', 'the cron job expression is invalid'],
    ['ClientNotRunning', 'the aliyun service is not running on the instance'],
    ['ClientNotResponse', 'the aliyun service in the instance does not response'],
    ['ClientIsUpgrading', 'the aliyun service in the instance is upgrading now'],
    ['ClientNeedUpgrade', 'the aliyun service in the instance need upgrade'],
    ['DeliveryTimeout', 'the command delivery has been timeout'],
    ['ExecutionTimeout', 'the command execution has been timeout'],
    ['ExecutionException', 'the command execution got an exception'],
    ['ExecutionInterrupted', 'the command execution has been interrupted'],
    ['ExitCodeNonzero', 'the command execution exit code is not zero'],
  ];
  it.each(alibaba)('%s reads as Alibaba words it', (code, text) => {
    expect(runError(code)).toEqual({ errorCode: code, errorInfo: text });
  });

  it.each([
    ['CommandNotApplicable', 'no #! line', 'the command is not applicable: no #! line'],
    ['BadCronExpression', 'bad field', 'the cron job expression is invalid: bad field'],
    [
      'ExecutionException',
      'the agent task queue is full',
      'the command execution got an exception: the agent task queue is full',
    ],
    ['ExecutionTimeout', '', 'the command execution has been timeout'],
  ] as [RunErrorCode, string, string][])('%s with detail %j', (code, detail, text) => {
    expect(runError(code, detail)).toEqual({ errorCode: code, errorInfo: text });
  });

  it('has one non-empty text per code, none of them repeated', () => {
    const texts = Object.values(runErrorInfo);
    expect(texts.every((text) => text.length > 0)).toBe(true);
    expect(new Set(texts).size).toBe(texts.length);
  });

  it.each([
    [new Error('disk is gone'), 'the command execution got an exception: disk is gone'],
    ['spawn refused', 'the command execution got an exception: spawn refused'],
    [42, 'the command execution got an exception: 42'],
  ])('ExecutionException from %j', (error, text) => {
    expect(executionException(error)).toEqual({ errorCode: 'ExecutionException', errorInfo: text });
  });

  it.each([
    [
      3,
      false,
      'the agent was not running at 3 scheduled time(s), from 2026-01-01T00:00:00Z to 2026-01-01T00:02:00Z',
    ],
    [
      100,
      true,
      'the agent was not running at at least 100 scheduled time(s), from 2026-01-01T00:00:00Z to 2026-01-01T00:02:00Z',
    ],
  ])('ExecutionMissed counting %i (bound reached: %s)', (count, atLeast, text) => {
    const first = Date.UTC(2026, 0, 1);
    expect(executionMissed(count, first, first + 120_000, atLeast)).toEqual({
      errorCode: 'ExecutionMissed',
      errorInfo: text,
    });
  });
});
