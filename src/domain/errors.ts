/**
 * The error catalogue: every code the API can return, with its HTTP status and message.
 *
 * Rows marked "seed" mirror the InvokeCommand reference's error table row for row; the others come
 * from Alibaba's per-operation pages (CreateCommand, DescribeCommands, ModifyCommand, DeleteCommand,
 * DescribeRegions) and the common gateway errors. `recommend` is the seed's description column: it
 * is sent as `Recommend` so a client sees how to fix the request.
 */
export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
  readonly recommend: string;
}

const row = (status: number, message: string, recommend = ''): ErrorSpec => ({ status, message, recommend });

export const errorCatalogue = {
  // --- seed: InvokeCommand error table ---
  'RegionId.ApiNotSupported': row(
    400,
    'The api is not supported in this region.',
    'This operation cannot be performed in the specified region. Check whether the RegionId parameter is valid.',
  ),
  'MissingParam.InstanceId': row(
    400,
    'The parameter instanceId is missing or empty.',
    'InstanceId.N is required.',
  ),
  'InvalidContainerId.Malformed': row(
    400,
    'The specified parameter ContainerId is not valid.',
    'Invalid ContainerId value.',
  ),
  'InvalidContainerName.Malformed': row(
    400,
    'The specified parameter ContainerName is not valid.',
    'Invalid ContainerName value.',
  ),
  'InvalidClientToken.Malformed': row(
    400,
    'The specified parameter clientToken is not valid.',
    'Invalid ClientToken value.',
  ),
  'InvalidInstance.NotMatch': row(
    400,
    'The specified instance type does not match the command.',
    'The specified command cannot be run on the specified instance. Check whether the state of the instance meets the conditions for running the Cloud Assistant command.',
  ),
  'MissingParam.Frequency': row(
    400,
    'The frequency must be specified when you create a timed task.',
    'The Frequency parameter is required when you create a scheduled command task.',
  ),
  'InvalidParam.Frequency': row(
    400,
    'The specified frequency is invalid.',
    'Invalid Frequency value. Check whether the specified Frequency value is valid.',
  ),
  'Parameter.MissingValue': row(
    400,
    'The parameter value of this command is required.',
    'The parameter is required.',
  ),
  'Parameter.Disabled': row(
    400,
    'Parameters cannot be passed in when the command customization function is disabled.',
    'The Parameters parameter is specified when the custom parameter feature is disabled.',
  ),
  'InvalidParameter.Parameters': row(
    400,
    'The specified parameter Parameters is not valid.',
    'Invalid Parameters value.',
  ),
  'InstanceIds.ExceedLimit': row(
    403,
    'The number of instance IDs exceeds the upper limit.',
    'The maximum number of instance IDs is exceeded.',
  ),
  'Invocation.ExceedQuota': row(
    403,
    'The invocation quota in the current region has been reached for today.',
    'The daily maximum number of command executions in the current region is exceeded.',
  ),
  'ParameterCount.ExceedLimit': row(
    403,
    'The maximum number of parameters is exceeded.',
    'The maximum number of specified custom parameters is exceeded.',
  ),
  'ParameterKey.ExceedLimit': row(
    403,
    'The maximum length of a parameter name is exceeded.',
    'The key of a custom parameter exceeds 64 characters in length.',
  ),
  'CmdContent.ExceedLimit': row(
    403,
    'The maximum length of a command is exceeded.',
    'The maximum length of the command is exceeded. Shorten your command.',
  ),
  'ParameterKey.Duplicate': row(
    403,
    'Parameter names cannot be duplicated.',
    'A parameter that has the same name already exists. Parameter names must be unique.',
  ),
  'Parameter.NotMatched': row(
    403,
    'The passed-in parameters do not match the parameters defined when you created the command.',
    'The custom parameters passed in do not match those specified when the command was created.',
  ),
  'ParameterType.NotSupported': row(
    403,
    'The type of parameter value is not supported.',
    'Invalid custom parameter type.',
  ),
  // OpenAssist's, worded like the seed's *.Malformed rows: Alibaba documents only the length of
  // Username, and a name that could read as an option or shell syntax must never reach a machine.
  'InvalidUsername.Malformed': row(
    400,
    'The specified parameter Username is not valid.',
    'A user name holds letters, digits, ".", "_", "-", "@" and "\\" (DOMAIN\\user), and does not start with "-".',
  ),
  'Username.ExceedLimit': row(
    403,
    'The length of the username exceeds the upper limit.',
    'The maximum length of the username is exceeded.',
  ),
  'WindowsPasswordName.ExceedLimit': row(
    403,
    'The length of the WindowsPasswordName exceeds the upper limit.',
    'The maximum length of WindowsPasswordName is exceeded.',
  ),
  'WindowsPasswordName.Missed': row(
    403,
    'WindowsPasswordName must be specified when you create a Windows task.',
    'WindowsPasswordName is required.',
  ),
  'ParameterStore.InvalidParameters': row(
    403,
    'The parameter is invalid in Parameter Store.',
    'The custom parameter in the {{oos:?}} format is not found.',
  ),
  'Operation.Forbidden': row(403, 'The operation is not permitted.', 'The operation is not supported.'),
  // --- RAM (2015-05-01) access key management ---
  'Forbidden.RAM': row(
    403,
    'User not authorized to operate on the specified resource, or this API does not support RAM.',
    'Use a key that is allowed this operation.',
  ),
  MalformedPolicyDocument: row(
    400,
    'The policy document is malformed.',
    'A policy is {"Version":"1","Statement":[{"Effect":"Allow","Action":["ecs:Describe*"]}]}.',
  ),
  'EntityNotExist.User.AccessKey': row(
    404,
    'The specified access key does not exist.',
    'Check the UserAccessKeyId.',
  ),
  IdempotentParameterMismatch: row(
    403,
    'The specified parameter has changed while using an already used clientToken.',
    'The client token is already in use.',
  ),
  IdempotentProcessing: row(
    403,
    'The previous idempotent request(s) is still processing.',
    'A previous idempotent request is being processed. Try again later.',
  ),
  'InvalidRepeatMode.NotFound': row(
    404,
    'The specified repeat mode does not exist.',
    'Invalid RepeatMode value.',
  ),
  // --- InstallCloudAssistant ---
  'MissingParameter.InstanceIds': row(
    400,
    'The input parameter "InstanceIds" that is mandatory for processing this request is not supplied.',
    'Add InstanceId.N.',
  ),
  'InvalidInstance.NotFound': row(
    404,
    'The specified instance does not exist.',
    'The specified instance is not found.',
  ),
  'InvalidCmdId.NotFound': row(
    404,
    'The specified command ID does not exist.',
    'Invalid CommandId value. You can call the DescribeCommands operation to query all available command IDs.',
  ),
  'InvalidResourceGroup.NotFound': row(
    404,
    'The ResourceGroup provided does not exist in our records.',
    'The resource group ID is not found.',
  ),
  'InternalError.Dispatch': row(
    500,
    'An error occurred when you dispatched the request.',
    'An error occurred while the request was being sent. Try again later.',
  ),

  // --- CreateCommand / ModifyCommand / DeleteCommand pages ---
  'CmdParam.EmptyKey': row(400, 'You must specify the parameter names.', 'A {{}} placeholder has no name.'),
  'CmdParam.InvalidParamName': row(
    400,
    'Invalid parameter name. The name can contain only lowercase letters (a to z), uppercase letters (A to Z), numbers (0 to 9), hyphens (-), and underscores (_).',
    'Rename the {{name}} placeholder.',
  ),
  'CmdContent.DecodeError': row(
    400,
    'The CommandContent can not be base64 decoded.',
    'Send valid Base64, or set ContentEncoding=PlainText.',
  ),
  'InvalidParameter.OssOutputDelivery': row(
    400,
    'The specified parameter OssOutputDelivery is not valid.',
    'OssOutputDelivery is oss://BUCKET or oss://BUCKET/PREFIX: a bucket of 3-63 lowercase letters, digits, dots and hyphens, a prefix of at most 254 characters not starting with / or \\.',
  ),
  'InvalidParameter.WorkingDir': row(
    400,
    'The specified parameter WorkingDir is not valid.',
    'WorkingDir is a directory path of at most 200 characters, without control characters or any of ; & | $ ` < > " \' ! * ?, not starting with "-".',
  ),
  'CmdName.ExceedLimit': row(
    403,
    'The length of the command name exceeds the upper limit.',
    'Name is at most 128 characters.',
  ),
  'CmdDesc.ExceedLimit': row(
    403,
    'The length of the command description exceeds the upper limit.',
    'Description is at most 512 characters.',
  ),
  'CmdParamCount.ExceedLimit': row(
    403,
    'The maximum number of custom parameters is exceeded.',
    'A command defines at most 20 custom parameters.',
  ),
  'CmdParamName.ExceedLimit': row(
    403,
    'The maximum length of a parameter name is exceeded.',
    'A parameter name is at most 64 characters.',
  ),
  'InvalidLauncher.LengthLimitExceeded': row(
    403,
    'The length of the parameter Launcher exceeds the limit of 1 KB characters.',
    'Shorten the Launcher.',
  ),
  'InvalidTimeout.ExceedLimit': row(
    403,
    'The specified parameter Timeout exceeds the upper limit.',
    'Timeout is at most 86400 seconds.',
  ),
  'InvalidParameter.Timeout': row(
    400,
    'The specified parameter Timeout is not valid.',
    'Timeout is a whole number of seconds, at least 10.',
  ),
  // --- SendFile. Alibaba's SendFile page documents its limits (Name 255 characters, Description
  // 512, Content 32 KB after Base64, TargetDir 255, FileOwner and FileGroup 64) but no error table
  // could be found, so these codes follow the catalogue's own patterns: `*.ExceedLimit` (403) for a
  // limit, `*.Malformed` (400) for a shape, as CreateCommand's Cmd* rows (docs/files.md).
  'FileName.ExceedLimit': row(
    403,
    'The length of the file name exceeds the upper limit.',
    'Name is at most 255 characters.',
  ),
  'InvalidFileName.Malformed': row(
    400,
    'The specified parameter Name is not a valid file name.',
    'Name is one file name: no "/", no NUL character, and not "." or "..".',
  ),
  'FileDesc.ExceedLimit': row(
    403,
    'The length of the file description exceeds the upper limit.',
    'Description is at most 512 characters.',
  ),
  'FileContent.ExceedLimit': row(
    403,
    'The maximum length of the file content is exceeded.',
    'Content is at most 32 KB (32768 bytes) after Base64 encoding.',
  ),
  'FileContent.DecodeError': row(
    400,
    'The Content can not be base64 decoded.',
    'Send valid Base64, or set ContentType=PlainText.',
  ),
  'InvalidParameter.ContentType': row(
    400,
    'The specified parameter ContentType is not valid.',
    'ContentType is PlainText or Base64.',
  ),
  'InvalidTargetDir.Malformed': row(
    400,
    'The specified parameter TargetDir is not valid.',
    'TargetDir is an absolute directory path (/dir on Linux, C:\\dir on Windows) without NUL characters.',
  ),
  'TargetDir.ExceedLimit': row(
    403,
    'The length of the target directory exceeds the upper limit.',
    'TargetDir is at most 255 characters.',
  ),
  'FileOwner.ExceedLimit': row(
    403,
    'The length of the file owner exceeds the upper limit.',
    'FileOwner is at most 64 characters.',
  ),
  'InvalidFileOwner.Malformed': row(
    400,
    'The specified parameter FileOwner is not valid.',
    'A user name holds letters, digits, ".", "_" and "-", and does not start with "-".',
  ),
  'FileGroup.ExceedLimit': row(
    403,
    'The length of the file group exceeds the upper limit.',
    'FileGroup is at most 64 characters.',
  ),
  'InvalidFileGroup.Malformed': row(
    400,
    'The specified parameter FileGroup is not valid.',
    'A group name holds letters, digits, ".", "_" and "-", and does not start with "-".',
  ),
  'InvalidFileMode.Malformed': row(
    400,
    'The specified parameter FileMode is not valid.',
    'FileMode is an octal mode as chmod takes it, such as 0644 or 755.',
  ),
  'InvalidParameter.ContentEncoding': row(
    400,
    'The specified parameter ContentEncoding is not valid.',
    'ContentEncoding is PlainText or Base64.',
  ),
  'InvalidCmdType.NotFound': row(
    404,
    'The specified command type does not exist.',
    'Type is RunShellScript, RunBatScript or RunPowerShellScript.',
  ),
  'InvalidStatus.CmdIdInUse': row(
    403,
    'The specified commandId is in use by some running Invocation.',
    'Stop the invocations of this command, then delete it.',
  ),

  // --- DescribeCommands page: filters, tags, paging ---
  'InvalidCommandType.NotFound': row(
    404,
    'The specified parameter Type does not exist.',
    'Type is RunShellScript, RunBatScript or RunPowerShellScript.',
  ),
  'InvalidName.LengthLimitExceeded': row(
    403,
    'The length of the parameter Name exceeds the upper limit.',
    'Name is at most 128 characters.',
  ),
  'InvalidDescription.LengthLimitExceeded': row(
    403,
    'The length of the parameter Description exceeds the upper limit.',
    'Description is at most 512 characters.',
  ),
  'NumberExceed.Tags': row(400, 'The Tags parameter number is exceed.', 'At most 20 tags.'),
  'Duplicate.TagKey': row(400, 'The Tag.N.Key contain duplicate key.', 'Each tag key may appear once.'),
  'InvalidTagKey.Malformed': row(
    400,
    'The specified Tag.n.Key is not valid.',
    'A tag key is 1-64 characters, does not start with aliyun or acs: and contains no http:// or https://.',
  ),
  'InvalidTagValue.Malformed': row(
    400,
    'The specified Tag.n.Value is not valid.',
    'A tag value is at most 128 characters and contains no http:// or https://.',
  ),
  'MissingParameter.TagKey': row(400, 'You must specify Tag.N.Key.', 'Every Tag.N.Value needs a Tag.N.Key.'),
  'InvalidParam.PageNumber': row(
    400,
    'The specified parameter is invalid.',
    'PageNumber is a whole number >= 1.',
  ),
  'InvalidParam.PageSize': row(
    400,
    'The specified parameter is invalid.',
    'PageSize is a whole number from 1 to 50.',
  ),
  'InvalidParameter.NextToken': row(
    400,
    'The specified parameter NextToken is not valid.',
    'Pass the NextToken of the previous response unchanged.',
  ),
  // --- OpenAssist extensions: rolling runs (docs/rolling-runs.md) ---
  'InvalidParameter.MaxConcurrency': row(
    400,
    'The specified parameter MaxConcurrency is not valid.',
    'MaxConcurrency is a whole number from 1 or a percentage from 1% to 100%, with RepeatMode Once.',
  ),
  'InvalidParameter.MaxErrors': row(
    400,
    'The specified parameter MaxErrors is not valid.',
    'MaxErrors is a whole number from 0 or a percentage from 0% to 100%, and needs MaxConcurrency.',
  ),
  'InvalidParameter.MaxResults': row(
    400,
    'The specified parameter MaxResults is not valid.',
    'MaxResults is a whole number from 1 to 50.',
  ),

  // --- DescribeRegions page ---
  'InvalidAcceptLanguage.NotFound': row(
    404,
    'Only Chinese (zh-CN), English (en-US), and Japanese (ja) are allowed.',
    'AcceptLanguage is zh-CN, zh-TW, en-US, ja, fr, de or ko.',
  ),
  'InvalidResourceType.NotFound': row(
    404,
    'The ResourceType provided does not exist in our records.',
    'ResourceType is instance, disk, reservedinstance or scu.',
  ),
  'Invalid.InstanceChargeType': row(
    403,
    'The specified instanceChargeType is not valid.',
    'InstanceChargeType is PrePaid, PostPaid, SpotWithPriceLimit or SpotAsPriceGo.',
  ),

  // --- activations and managed instances (CreateActivation … DeregisterManagedInstance pages) ---
  'InstanceName.ExceedLimit': row(
    400,
    'The specified instance name exceed limit.',
    'A name is 2-128 characters (an activation prefix 2-50).',
  ),
  'InstanceName.InvalidPattern': row(
    400,
    'The specified instance name pattern invalid.',
    'A name starts with a letter and holds letters, digits, ".", "_", "-" and ":".',
  ),
  'ActivationDesc.ExceedLimit': row(
    400,
    'Activation description length exceeds.',
    'Description is at most 100 characters.',
  ),
  'ActivationLimitation.Invalid': row(
    400,
    'The specified parameter InstanceCount exceeds the limit.',
    'InstanceCount is 1 to 1000.',
  ),
  'ActivationTTL.ExceedLimit': row(
    400,
    'The specified parameter TimeToLiveInHours exceeds the limit.',
    'TimeToLiveInHours is 1 to 876576.',
  ),
  'AddressRange.InvalidPattern': row(
    400,
    'Address range should be ipv4 address or cidr.',
    'IpAddressRange is an IPv4 or IPv6 address or CIDR block, e.g. 0.0.0.0/0.',
  ),
  'ActivationId.NotFound': row(404, 'The specified activation id does not exist.', 'Check the ActivationId.'),
  'ActivationId.InUse': row(
    403,
    'The specified activation id is in use.',
    'Deregister the managed instances registered with this activation first.',
  ),
  'ActivationCode.Invalid': row(
    403,
    'The activation code does not match the activation.',
    'Check the ActivationCode.',
  ),
  'Activation.Disabled': row(403, 'The activation has been disabled.', 'Create a new activation.'),
  'Activation.Expired': row(403, 'The activation has expired.', 'Create a new activation.'),
  'Activation.CountExceeded': row(
    403,
    'The activation has registered as many instances as it allows.',
    'Create a new activation or raise InstanceCount on a new one.',
  ),
  'Activation.AddressNotAllowed': row(
    403,
    "The machine's address is outside the activation's IpAddressRange.",
    'Register from an allowed address or create an activation with a wider range.',
  ),
  'InvalidToken.Agent': row(401, 'The agent credentials are not valid.', 'Register the agent again.'),
  // GET /metrics (OpenAssist's own, docs/metrics.md): a token when one is set, else this machine only.
  'InvalidToken.Metrics': row(
    401,
    'The metrics bearer token is missing or not valid.',
    'Send Authorization: Bearer <OPENASSIST_METRICS_TOKEN>.',
  ),
  'Forbidden.Metrics': row(
    403,
    'Metrics are served to clients on the server machine only.',
    "Scrape from the server's machine, or set OPENASSIST_METRICS_TOKEN and send it as a bearer token.",
  ),
  // GET /agent/download/<file> (OpenAssist's own): the name is not served, or the build is missing.
  'AgentFile.NotFound': row(
    404,
    'The specified agent file does not exist.',
    'Download openassist-agent-linux-<arch> or its .sha256 from a server whose build made them.',
  ),
  // --- webhooks: OpenAssist's extension (docs/webhooks.md) ---
  'InvalidParameter.Url': row(
    400,
    'The specified URL is not valid.',
    'Url is an absolute http:// or https:// URL.',
  ),
  'InvalidParameter.Secret': row(
    400,
    'The specified webhook secret is not valid.',
    'Secret is 16 to 256 characters.',
  ),
  'InvalidWebhookId.NotFound': row(
    404,
    'The specified webhook does not exist.',
    'Call DescribeWebhooks to list the webhooks.',
  ),
  'Webhook.LimitExceeded': row(
    400,
    'There are as many webhooks as this server takes.',
    'Delete a webhook first.',
  ),
  // --- file uploads: OpenAssist's extension for SendFile beyond 32 KB (docs/file-transfer.md) ---
  'InvalidFileSize.ExceedLimit': row(
    400,
    'The specified file is larger than this server takes.',
    'Send a smaller file, or raise OPENASSIST_FILE_MAX_BYTES on the server.',
  ),
  'InvalidSha256.Malformed': row(
    400,
    'The specified Sha256 is not valid.',
    'Sha256 is 64 hexadecimal characters.',
  ),
  // --- terminal sessions (StartTerminalSession, EndTerminalSession: docs/terminal-sessions.md) ---
  'InvalidSessionId.NotFound': row(404, 'The specified SessionId does not exist.', 'Check the SessionId.'),
  InvalidSecurityToken: row(
    403,
    'The security token of the session is invalid, expired or already used.',
    'Call StartTerminalSession again and connect within 60 seconds with its SecurityToken.',
  ),
  IncorrectInstanceStatus: row(
    403,
    'The current status of the resource does not support this operation.',
    "The instance's agent must be connected: check CloudAssistantStatus with DescribeCloudAssistantStatus.",
  ),
  'InvalidOperation.ClientNeedUpgrade': row(
    403,
    'The Cloud Assistant Agent of the instance is too old for this operation.',
    'Upgrade the agent (ModifyCloudAssistantSettings AgentUpgradeConfig, or the install line).',
  ),
  'InvalidOperation.SessionManagerDisabled': row(
    403,
    'Session Manager is disabled in this region.',
    'Enable it with ModifyCloudAssistantSettings, SettingType SessionManagerConfig, SessionManagerEnabled true.',
  ),
  'SessionCount.ExceedLimit': row(
    403,
    'The number of open sessions exceeds the limit.',
    'End sessions no longer used (EndTerminalSession) or wait for them to close.',
  ),
  'CommandLine.ExceedLimit': row(400, 'The CommandLine is longer than 512 characters.'),
  'InvalidPortNumber.Malformed': row(
    400,
    'The specified PortNumber is not valid.',
    'Use a port from 1 to 65535.',
  ),
  'MissingParameter.PortNumber': row(
    400,
    'The input parameter "PortNumber" that is mandatory for processing this request is not supplied.',
    'TargetServer needs PortNumber.',
  ),
  'InvalidTargetServer.Malformed': row(
    400,
    'The specified TargetServer is not valid.',
    'Use a host name or an IP address of at most 255 characters.',
  ),
  'InvalidParameter.ConnectionType': row(
    400,
    'The specified ConnectionType is not valid.',
    'Use Internet or Intranet.',
  ),
  'InvalidParameter.EncryptionOptions': row(
    400,
    'The specified EncryptionOptions is not valid.',
    'Send a JSON object of at most 1 KiB.',
  ),
  'InvalidUploadId.NotFound': row(
    404,
    'The specified upload does not exist.',
    'Check the UploadId: an upload is seen only by the access key that created it, and removed when unused.',
  ),
  'InvalidUploadOffset.Mismatch': row(
    400,
    'The part does not start at the bytes the upload has received.',
    'Call DescribeFileUpload and send the part at its ReceivedBytes.',
  ),
  'InvalidUploadContent.Sha256Mismatch': row(
    400,
    "The uploaded bytes do not match the upload's Sha256.",
    'The upload starts again at Offset 0: send the file again, unchanged.',
  ),
  'InvalidUploadId.Incomplete': row(
    400,
    'The specified upload has not received all its bytes.',
    'Send the remaining parts (DescribeFileUpload gives ReceivedBytes), then call SendFile.',
  ),
  'InvalidUploadId.InUse': row(
    403,
    'The specified upload is already used by a SendFile invocation.',
    'Create a new upload for another SendFile.',
  ),
  'FileUpload.ExceedQuota': row(
    403,
    'The access key has as many unused uploads as it may.',
    'Use or let expire the uploads it has; unused uploads are removed after 24 hours.',
  ),
  // GET /agent/v1/files/<invokeId>: an agent's download of a file sent to its instance.
  'InvalidFile.NotFound': row(
    404,
    'The specified file does not exist for this instance.',
    'An agent downloads only a file sent to its own instance while that run has not ended.',
  ),
  InvalidRange: row(
    416,
    'The requested range cannot be served.',
    'Send "Range: bytes=N-" with N below the size.',
  ),
  // Alibaba's gateway answers a throttled caller with this code; 429 is its status for flow control.
  // OpenAssist sends it to an address that failed registration or channel authentication too often.
  Throttling: row(
    429,
    'Request was denied due to request throttling.',
    'Too many failed attempts from this address: wait for the seconds in Retry-After, then check the credentials.',
  ),

  // --- invocations (StopInvocation, ModifyInvocationAttribute, DescribeInstances pages) ---
  'InvalidInvokeId.NotFound': row(404, 'The specified invoke ID does not exist.', 'Check the InvokeId.'),
  'InvalidInstanceId.NotFound': row(
    404,
    'The specified parameter InstanceId does not exist.',
    'The instance is not part of this invocation.',
  ),
  'InvalidOperation.InvokeAlreadyFinished': row(
    403,
    'The operation is not supported for finished invocation.',
    'The invocation has finished on every instance.',
  ),
  'InvalidOperation.RepeatModeUnsupported': row(
    403,
    'The operation is not supported for current repeat mode of invocation.',
    'Only Period, NextRebootOnly and EveryReboot invocations can be modified.',
  ),
  'InvalidStatus.NotFound': row(
    404,
    'The specified Status is not found.',
    'Status is Pending, Running, Starting, Stopping or Stopped.',
  ),
  'InvalidInstanceIds.Malformed': row(
    400,
    'The specified parameter InstanceIds is not valid.',
    'InstanceIds is a JSON array of at most 100 instance ids.',
  ),
  DryRunOperation: row(
    400,
    'Request validation has been passed with DryRun flag set.',
    'The request is valid; send it without RepeatMode=DryRun to run it.',
  ),
  ServiceUnavailable: row(
    503,
    'The request has failed due to a temporary failure of the server.',
    'Try again later.',
  ),

  // --- TagResources / UntagResources / ListTagResources pages, InvokeCommand's ResourceTag.N ---
  'NumberExceed.ResourceIds': row(
    400,
    "The ResourceIds parameter's number is exceed , Valid : 50.",
    'At most 50 ResourceId.N.',
  ),
  'MissingParameter.ResourceIds': row(
    404,
    'The parameter - ResourceIds.N should not be null.',
    'Add ResourceId.N.',
  ),
  'MissingParameter.ResourceType': row(
    404,
    'The parameter - ResourceType should not be null.',
    'Add ResourceType.',
  ),
  'MissingParameter.Tags': row(404, 'The parameter - Tags should not be null.', 'Add Tag.N.'),
  'InvalidResourceId.NotFound': row(
    404,
    'The specified ResourceIds are not found in our records.',
    'Every ResourceId.N must exist in the region and be of ResourceType.',
  ),
  'OperationDenied.QuotaExceed': row(
    400,
    'The quota of tags on resource is beyond permitted range.',
    'A resource carries at most 20 tags.',
  ),
  'Param.Conflict': row(
    403,
    'The specified all is true, but the specified TagKey.N is not empty.',
    'Send All=true or TagKey.N, not both.',
  ),
  'BothEmpty.TagsAndResources': row(
    403,
    'The specified Tags and ResourcesIds are not allow to both empty.',
    'Send ResourceId.N, Tag.N or both.',
  ),
  'Invalid.NextToken': row(
    403,
    'The specified NextToken is not valid.',
    'Pass the NextToken of the previous response.',
  ),
  'NumberExceed.ResourceTags': row(
    400,
    'The maximum number of ResourceTags is exceeded.',
    'At most 10 ResourceTag.N.',
  ),
  'MissingParameter.ResourceTagKey': row(
    400,
    'You must specify ResourceTag.N.Key.',
    'Every ResourceTag.N needs a Key.',
  ),
  'InvalidResourceTagKey.Malformed': row(
    400,
    'The specified ResourceTag key is not valid.',
    'A key is 1-64 characters, does not start with aliyun or acs: and contains no URL.',
  ),
  'InvalidResourceTagValue.Malformed': row(
    400,
    'The specified ResourceTag value is not valid.',
    'A value is at most 128 characters and contains no URL.',
  ),
  'Duplicate.ResourceTagKey': row(
    400,
    'The ResourceTag contains duplicate keys.',
    'Each key may appear once.',
  ),
  'InvalidResourceTag.InstanceNotFound': row(
    400,
    'InstanceIds are not found by the specified ResourceTag.',
    'No instance in the region carries every ResourceTag.N.',
  ),
  'InvalidResourceTag.ConflictWithInstanceIds': row(
    400,
    'The specified param ResourceTag conflicts with InstanceId.',
    'Select instances with InstanceId.N or with ResourceTag.N, not both.',
  ),

  // --- ResourceManager 2020-03-31 (resource groups) and ECS JoinResourceGroup ---
  'InvalidParameter.Name.InvalidChars': row(
    400,
    'The Name is invalid.',
    'A name starts with a letter and holds letters, digits and hyphens.',
  ),
  'InvalidParameter.Name.Length': row(
    400,
    'The maximum length of Name is exceeded.',
    'Name is 3-50 characters.',
  ),
  'InvalidParameter.DisplayName.Length': row(
    400,
    'The maximum length of DisplayName is exceeded.',
    'DisplayName is 1-50 characters.',
  ),
  'MissingParameter.DisplayName': row(400, 'You must specify DisplayName.', 'Add DisplayName.'),
  'EntityAlreadyExists.ResourceGroup': row(
    409,
    'The resource group name already exists.',
    'Choose another Name.',
  ),
  'LimitExceeded.ResourceGroup': row(
    409,
    'The count of resource groups beyond the current limits.',
    'An account has at most 30 resource groups.',
  ),
  'EntityNotExists.ResourceGroup': row(
    404,
    'The specified resource group does not exist. You must first create a resource group.',
    'Check the ResourceGroupId.',
  ),
  'DeleteConflict.ResourceGroup.Resource': row(
    409,
    'Failed to delete the resource group because one or more cloud resources exist in the resource group. Try again later after you release the cloud resources.',
    'Move or delete the commands, invocations, instances and activations in the group first.',
  ),

  // --- OOS Parameter Store 2019-06-01 (codes as its SDK and tools use them; statuses by the family's pattern) ---
  'EntityNotExists.Parameter': row(
    404,
    'The specified parameter does not exist.',
    'Check the parameter Name.',
  ),
  'EntityAlreadyExists.Parameter': row(
    409,
    'The specified parameter already exists.',
    'Choose another Name or update it.',
  ),

  // --- common gateway errors: transport, authentication, shape ---
  MissingParameter: row(
    400,
    'The input parameter that is mandatory for processing this request is not supplied.',
    'Add the parameter named in the message.',
  ),
  InvalidParameter: row(
    400,
    'The specified parameter is not valid.',
    'Fix the parameter named in the message.',
  ),
  IncompleteSignature: row(
    400,
    'The request signature does not conform to Aliyun standards.',
    'Sign the request with ACS3-HMAC-SHA256 (Authorization header) or HMAC-SHA1 (Signature parameter).',
  ),
  SignatureDoesNotMatch: row(
    400,
    'Specified signature is not matched with our calculation.',
    'Check the AccessKey secret and that the request was not changed after signing.',
  ),
  'InvalidTimeStamp.Expired': row(
    400,
    'Specified time stamp or date value is expired.',
    'The request time must be within 15 minutes of the server time; check the client clock.',
  ),
  'InvalidTimeStamp.Format': row(
    400,
    'Specified time stamp or date value is not well formatted.',
    'Use UTC time in the form YYYY-MM-DDThh:mm:ssZ.',
  ),
  SignatureNonceUsed: row(
    400,
    'Specified signature nonce was used already.',
    'Use a new random nonce for every request.',
  ),
  'InvalidAccessKeyId.NotFound': row(404, 'Specified access key is not found.', 'Check the AccessKey ID.'),
  'InvalidAccessKeyId.Inactive': row(
    400,
    'Specified access key is disabled.',
    'Enable the key or use another.',
  ),
  'InvalidAction.NotFound': row(
    404,
    'Specified api is not found, please check your url and method.',
    'Check the Action name (case-sensitive) and the request path.',
  ),
  InvalidVersion: row(400, 'Specified parameter Version is not valid.', 'The ECS API version is 2014-05-26.'),
  UnsupportedHTTPMethod: row(403, 'This http method is not supported.', 'Use POST or GET.'),
  RequestTimeout: row(
    408,
    'The request was not received in time.',
    'Send the whole request promptly; a slow client is cut off.',
  ),
  RequestTooLarge: row(
    413,
    'The request is too large.',
    'The query string and the body are each limited; see the message for the limit.',
  ),
  InternalError: row(
    500,
    'The request processing has failed due to some unknown error.',
    'Try again; if it persists, report the RequestId.',
  ),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

/** An error the API returns to its caller: a catalogued code plus an optional detail for the message. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly recommend: string;

  constructor(code: ErrorCode, detail?: string) {
    const spec: ErrorSpec = errorCatalogue[code];
    super(detail ? `${spec.message} ${detail}` : spec.message);
    this.name = 'ApiError';
    this.code = code;
    this.status = spec.status;
    this.recommend = spec.recommend;
  }
}

export const isApiError = (error: unknown): error is ApiError => error instanceof ApiError;

/** `MissingParameter` with Alibaba's wording, naming the parameter. */
export function missingParameter(name: string): ApiError {
  const error = new ApiError('MissingParameter');
  error.message = `The input parameter "${name}" that is mandatory for processing this request is not supplied.`;
  return error;
}
