import { describe, expect, it } from 'vitest';
import { parseUrlEncoded, splitTarget } from '../query.js';
import type { SignedRequest } from './signed-request.js';
import { v1Signature } from './v1.js';
import { parseV3Authorization, v3Signature } from './v3.js';

// Requests captured from the official SDK (@alicloud/ecs20140526 7.11.6), secret "testSecret".
const secret = 'testSecret';
const emptySha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const date = '2026-11-29T07:53:54Z';

interface V3Vector {
  action: string;
  target: string;
  nonce: string;
  signature: string;
}

const v3Vectors: V3Vector[] = [
  {
    action: 'InvokeCommand',
    target:
      '/?ClientToken=tok-123&CommandId=c-abc123&ContainerName=web&Frequency=0%20*%2F20%20*%20*%20*%20%3F&InstanceId.1=i-aaa111&InstanceId.2=i-bbb222&Parameters=%7B%22name%22%3A%22Jack%22%7D&RegionId=cn-hangzhou&RepeatMode=Period&Tag.1.Key=env&Tag.1.Value=prod&Timeout=120&Username=root',
    nonce: 'd210670d555d4b9be1cdc35aaee48f4257907a452f372a6ca034d6c4e65394f4',
    signature: '6f093dec4b3c9d92fa6d956d6437f477653bb667e81887dae8be195507cd295e',
  },
  {
    action: 'CreateCommand',
    target:
      '/?CommandContent=ZWNobyB7e25hbWV9fSAmJiBscyAtbGEgL3RtcA%3D%3D&Description=d%20e%2Bs%2Fc&EnableParameter=true&Name=hello&RegionId=cn-hangzhou&Timeout=60&Type=RunShellScript&WorkingDir=%2Froot',
    nonce: '2bf9603646623c38668f7511e07b3c4682059098645de91ae11b53c639a33810',
    signature: '18d119c2f459d46ad97b3cbcaf958092aa154c60c129b9cad53e5d7e36cdd01a',
  },
  {
    action: 'DescribeInvocationResults',
    target:
      '/?ContentEncoding=PlainText&IncludeHistory=true&InstanceId=i-aaa111&InvokeId=t-abc&PageSize=10&RegionId=cn-hangzhou&Tag.1.Key=env&Tag.1.Value=prod',
    nonce: '313fd52d9e090fe77e1c7d16f5ae48457de22ddfd40a6c74f357f3795361f3fd',
    signature: 'bd5b378afc49d5fe68f5c45f8fd67ea5671b6d22079c9ba615e73b0d54d67386',
  },
  {
    action: 'RunCommand',
    target:
      '/?CommandContent=echo%20hi&ContentEncoding=PlainText&EnableParameter=true&InstanceId.1=i-aaa111&KeepCommand=false&Parameters=%7B%22a%22%3A%221%22%2C%22b%22%3A2%7D&RegionId=cn-hangzhou&ResourceTag.1.Key=k&ResourceTag.1.Value=v&Type=RunShellScript',
    nonce: 'c8c2581be2e913e4d8b4e4d2f3d4beed4e895a69451a2266f86117fae6943dda',
    signature: 'd8ddc123d92b1b1fdba189d11b04323a76bb5e40bf43073dab7bb5c99cfa2a92',
  },
  {
    action: 'TagResources',
    target:
      '/?RegionId=cn-hangzhou&ResourceId.1=c-1&ResourceId.2=c-2&ResourceType=command&Tag.1.Key=k1&Tag.1.Value=v1',
    nonce: 'e484e502281f2a9e6c419ddc497c071c33af05acad9a6fac90938dfa14f3a468',
    signature: '97a6fc6bd54066990892fee02a226b2e9e1efe3a47331392856a2f0645aba372',
  },
  {
    action: 'UntagResources',
    target:
      '/?All=false&RegionId=cn-hangzhou&ResourceId.1=t-1&ResourceType=invocation&TagKey.1=k1&TagKey.2=k2',
    nonce: 'cbee64b19a3feec678270d8388abd04be4b3996d62ce11f724a7d84a32bd2b28',
    signature: '12c199f8d0978e33fe948cb3e41dfeac5243cd3a667aa3126d93a1a54b2a938c',
  },
  {
    action: 'DescribeInstances',
    target:
      '/?InstanceIds=%5B%22i-aaa111%22%2C%22i-bbb222%22%5D&MaxResults=10&RegionId=cn-hangzhou&Status=Running&Tag.1.Key=k&Tag.1.Value=v',
    nonce: 'c9047900f486e197fd9a08e78e1439402e0e46081287825e801e44c4607ff092',
    signature: 'eff7415a647937caf9e95014234672fae608ca6c30e58470d09ff126a4406153',
  },
  {
    action: 'ModifyCloudAssistantSettings',
    target:
      '/?AgentUpgradeConfig=%7B%22AllowedUpgradeWindow%22%3A%5B%2202%3A00-03%3A00%22%5D%2C%22Enabled%22%3Atrue%2C%22TimeZone%22%3A%22UTC%22%7D&RegionId=cn-hangzhou&SettingType=AgentUpgradeConfig',
    nonce: '0110d5f1f35f5ce164ec4e903920ba52f845774d069e8ac3edbe46c219c8e891',
    signature: 'fa3f96840fce8694805c732b8e519f648dbc0c7abcd52590f05bf583a56eae90',
  },
  {
    action: 'StartTerminalSession',
    target: '/?ConnectionType=WebSocket&InstanceId.1=i-aaa111&PortNumber=22&RegionId=cn-hangzhou',
    nonce: '394c107db3b784f9d997d5774399b5c7952fef42a3ea8644b3845793d6c297ff',
    signature: '3dd86e73665ea051697c0e65ec905332a5748e5de8fe192946bbe37f3e0ffb27',
  },
  {
    action: 'DescribeCloudAssistantStatus',
    target: '/?InstanceId.1=i-aaa111&OSType=Linux&RegionId=cn-hangzhou',
    nonce: '309a9c105add8e54fbba0e285cb4c61cb924e007eb928e8c470261b9d79c1ade',
    signature: '7265f289fd72df170f6cb62fc41db88e396d82da282f96d2222e50f75baca9d5',
  },
];

const signedHeaders = [
  'host',
  'x-acs-action',
  'x-acs-content-sha256',
  'x-acs-credentials-provider',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-version',
];

function v3Request(vector: V3Vector, method = 'POST'): SignedRequest {
  const { path, rawQuery } = splitTarget(vector.target);
  const query = parseUrlEncoded(rawQuery, 'query string');
  return {
    method,
    path,
    query,
    params: query,
    body: Buffer.alloc(0),
    headers: {
      host: '127.0.0.1:45709',
      'x-acs-version': '2014-05-26',
      'x-acs-action': vector.action,
      'x-acs-date': date,
      'x-acs-signature-nonce': vector.nonce,
      'x-acs-content-sha256': emptySha,
      'x-acs-credentials-provider': 'static_ak',
      authorization: `ACS3-HMAC-SHA256 Credential=testAK,SignedHeaders=${signedHeaders.join(';')},Signature=${vector.signature}`,
    },
  };
}

const v1Vectors = [
  {
    target:
      '/?Action=InvokeCommand&Format=json&Version=2014-05-26&Timestamp=2026-11-29T07%3A53%3A54Z&SignatureNonce=c64bf4b878ed9f3014019f93947377be90e22ff4d669bc9fad88ba83afe96a1e&ClientToken=tok-123&CommandId=c-abc123&ContainerName=web&Frequency=0%20*%2F20%20*%20*%20*%20%3F&InstanceId.1=i-aaa111&InstanceId.2=i-bbb222&Parameters=%7B%22name%22%3A%22Jack%22%7D&RegionId=cn-hangzhou&RepeatMode=Period&Tag.1.Key=env&Tag.1.Value=prod&Timeout=120&Username=root&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testAK&Signature=sDAMWjIxZanF%2BmY55vRJ5xHZuRs%3D',
    signature: 'sDAMWjIxZanF+mY55vRJ5xHZuRs=',
  },
  {
    target:
      '/?Action=CreateCommand&Format=json&Version=2014-05-26&Timestamp=2026-11-29T07%3A53%3A54Z&SignatureNonce=a9a8bc91f19d537d13079e3443e518a7b268deb7e0110b296edf0ece6592dbda&CommandContent=ZWNobyB7e25hbWV9fSAmJiBscyAtbGEgL3RtcA%3D%3D&Description=d%20e%2Bs%2Fc&EnableParameter=true&Name=hello&RegionId=cn-hangzhou&Timeout=60&Type=RunShellScript&WorkingDir=%2Froot&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testAK&Signature=CG9eqfTCfkha%2BMfFYKslTLRIiKE%3D',
    signature: 'CG9eqfTCfkha+MfFYKslTLRIiKE=',
  },
];

function v1Request(target: string, method = 'POST'): SignedRequest {
  const { path, rawQuery } = splitTarget(target);
  const query = parseUrlEncoded(rawQuery, 'query string');
  return { method, path, query, params: query, body: Buffer.alloc(0), headers: {} };
}

/** Every single-character change of a string: each position replaced by a different character. */
function* mutations(text: string): Generator<string> {
  for (let i = 0; i < text.length; i++) {
    const replacement = text[i] === 'x' ? 'y' : 'x';
    yield text.slice(0, i) + replacement + text.slice(i + 1);
  }
}

describe('signature V3 (ACS3-HMAC-SHA256) against captured SDK requests', () => {
  it.each(v3Vectors)('$action verifies', (vector) => {
    const request = v3Request(vector);
    const auth = parseV3Authorization(request.headers.authorization ?? '');
    expect(auth?.accessKeyId).toBe('testAK');
    expect(v3Signature(request, signedHeaders, secret)).toBe(vector.signature);
  });

  const vector = v3Vectors[1]!;
  const request = v3Request(vector);
  const sign = (r: SignedRequest, key = secret) => v3Signature(r, signedHeaders, key);

  it('rejects a changed method or path', () => {
    expect(sign(v3Request(vector, 'GET'))).not.toBe(vector.signature);
    expect(sign({ ...request, path: '/x' })).not.toBe(vector.signature);
  });

  it('rejects every single-character change to a parameter value', () => {
    for (const [key, value] of request.query) {
      for (const changed of mutations(value)) {
        const query = new Map(request.query).set(key, changed);
        expect(sign({ ...request, query, params: query })).not.toBe(vector.signature);
      }
    }
  });

  it('rejects every single-character change to a parameter name', () => {
    for (const [key, value] of request.query) {
      for (const changed of mutations(key)) {
        const query = new Map(request.query);
        query.delete(key);
        query.set(changed, value);
        expect(sign({ ...request, query, params: query })).not.toBe(vector.signature);
      }
    }
  });

  it('rejects every single-character change to a signed header', () => {
    for (const name of signedHeaders) {
      for (const changed of mutations(request.headers[name] ?? '')) {
        expect(sign({ ...request, headers: { ...request.headers, [name]: changed } })).not.toBe(
          vector.signature,
        );
      }
    }
  });

  it('rejects every single-character change to the secret', () => {
    for (const changed of mutations(secret)) expect(sign(request, changed)).not.toBe(vector.signature);
  });
});

describe('signature V1 (HMAC-SHA1) against captured SDK requests', () => {
  it.each(v1Vectors)('verifies $signature', ({ target, signature }) => {
    expect(v1Signature(v1Request(target), secret)).toBe(signature);
  });

  const { target, signature } = v1Vectors[0]!;
  const request = v1Request(target);

  it('rejects a changed method', () => {
    expect(v1Signature(v1Request(target, 'GET'), secret)).not.toBe(signature);
  });

  it('rejects every single-character change to a parameter value or the secret', () => {
    for (const [key, value] of request.params) {
      if (key === 'Signature') continue;
      for (const changed of mutations(value)) {
        const params = new Map(request.params).set(key, changed);
        expect(v1Signature({ ...request, params }, secret)).not.toBe(signature);
      }
    }
    for (const changed of mutations(secret)) expect(v1Signature(request, changed)).not.toBe(signature);
  });
});
