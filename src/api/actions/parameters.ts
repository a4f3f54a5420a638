import { ApiError } from '../../domain/errors.js';
import { parsePaging } from '../../domain/paging.js';
import type { ParameterKind, ParameterView } from '../../service/parameters.js';
import type { Action, ActionContext, RenderedAction } from '../action.js';
import { isoTime } from '../wire.js';

/** OOS (Operation Orchestration Service) Parameter Store, routed here by its Version. */
const oosVersion = '2019-06-01';

/** OOS takes RegionId as optional: absent means this server's first region. */
function regionOf({ params, services }: ActionContext): string {
  const regionId = params.string('RegionId') || services.regions[0] || '';
  if (!services.regions.includes(regionId)) {
    throw new ApiError('RegionId.ApiNotSupported', `This endpoint serves ${services.regions.join(', ')}.`);
  }
  return regionId;
}

function render(parameter: ParameterView, context: ActionContext, withValue: boolean) {
  return {
    Id: parameter.id,
    Name: parameter.name,
    Type: parameter.type,
    ...(withValue && { Value: parameter.value ?? '' }),
    ...(parameter.kind === 'secret' && { KeyId: '' }),
    ParameterVersion: parameter.version,
    Description: parameter.description,
    Constraints: '',
    CreatedDate: isoTime(parameter.createdAtMs),
    CreatedBy: context.accessKey.id,
    UpdatedDate: isoTime(parameter.updatedAtMs),
    UpdatedBy: context.accessKey.id,
    ShareType: 'Private',
    Tags: {},
    ResourceGroupId: '',
  };
}

function readNames(text: string | undefined): string[] {
  let names: unknown;
  try {
    names = JSON.parse(text ?? '');
  } catch {
    throw new ApiError('InvalidParameter', 'Names must be a JSON array of parameter names.');
  }
  if (
    !Array.isArray(names) ||
    names.length === 0 ||
    names.length > 10 ||
    !names.every((n) => typeof n === 'string')
  ) {
    throw new ApiError('InvalidParameter', 'Names must be a JSON array of 1-10 parameter names.');
  }
  return names;
}

/** The eleven actions, built for both kinds: plain (`…Parameter`) and secret (`…SecretParameter`). */
function parameterActions(kind: ParameterKind): Action[] {
  const noun = kind === 'secret' ? 'SecretParameter' : 'Parameter';
  // Plain values are always shown; secret ones only with WithDecryption=true.
  const reveal = (context: ActionContext) =>
    kind === 'plain' || context.params.boolean('WithDecryption') === true;
  const action = (name: string, handle: RenderedAction['handle']): Action => ({
    name,
    version: oosVersion,
    regionRequired: false,
    handle,
  });
  return [
    action(`Create${noun}`, async (context) => {
      const { params, services } = context;
      const created = await services.parameters.create(regionOf(context), kind, {
        name: params.string('Name'),
        type: params.string('Type'),
        value: params.string('Value'),
        description: params.string('Description'),
      });
      return { Parameter: render(created, context, false) };
    }),
    action(`Get${noun}`, async (context) => {
      const parameter = await context.services.parameters.get(
        regionOf(context),
        kind,
        context.params.required('Name'),
        reveal(context),
      );
      return { Parameter: render(parameter, context, true) };
    }),
    action(`Get${noun}s`, async (context) => {
      const names = readNames(context.params.required('Names'));
      const { found, missing } = await context.services.parameters.getMany(
        regionOf(context),
        kind,
        names,
        reveal(context),
      );
      return {
        Parameters: found.map((parameter) => render(parameter, context, true)),
        InvalidParameters: missing,
      };
    }),
    action(`Update${noun}`, async (context) => {
      const { params, services } = context;
      const updated = await services.parameters.update(
        regionOf(context),
        kind,
        params.required('Name'),
        params.string('Value'),
        params.string('Description'),
      );
      return { Parameter: render(updated, context, false) };
    }),
    action(`Delete${noun}`, async (context) => {
      await context.services.parameters.delete(regionOf(context), kind, context.params.required('Name'));
      return {};
    }),
    action(`List${noun}s`, async (context) => {
      const { params, services } = context;
      // OOS lists take MaxResults 10-100 (default 50) and NextToken only.
      const page = parsePaging(
        {
          maxResults: params.integer('MaxResults', 'InvalidParameter.MaxResults') ?? 50,
          nextToken: params.string('NextToken'),
        },
        100,
      );
      const result = await services.parameters.list(
        regionOf(context),
        kind,
        params.string('Name') || undefined,
        page,
      );
      return {
        Parameters: result.items.map((parameter) => render(parameter, context, false)),
        ...(result.nextToken && { NextToken: result.nextToken }),
        MaxResults: page.style === 'token' ? page.maxResults : 50,
        TotalCount: result.totalCount,
      };
    }),
  ];
}

export const parameterStoreActions: readonly Action[] = [
  ...parameterActions('plain'),
  ...parameterActions('secret'),
];
