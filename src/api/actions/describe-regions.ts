import { ApiError } from '../../domain/errors.js';
import type { Action } from '../action.js';

// The names Alibaba shows for its regions; a region of ours outside this table shows its id.
const localNames: Record<string, { zh: string; en: string }> = {
  'cn-hangzhou': { zh: '华东1（杭州）', en: 'China (Hangzhou)' },
  'cn-shanghai': { zh: '华东2（上海）', en: 'China (Shanghai)' },
  'cn-beijing': { zh: '华北2（北京）', en: 'China (Beijing)' },
  'cn-shenzhen': { zh: '华南1（深圳）', en: 'China (Shenzhen)' },
  'cn-hongkong': { zh: '中国香港', en: 'China (Hong Kong)' },
  'ap-southeast-1': { zh: '新加坡', en: 'Singapore' },
  'us-west-1': { zh: '美国（硅谷）', en: 'US (Silicon Valley)' },
  'us-east-1': { zh: '美国（弗吉尼亚）', en: 'US (Virginia)' },
  'eu-central-1': { zh: '德国（法兰克福）', en: 'Germany (Frankfurt)' },
};

const languages = ['zh-CN', 'zh-TW', 'en-US', 'ja', 'fr', 'de', 'ko'];
const chargeTypes = ['PrePaid', 'PostPaid', 'SpotWithPriceLimit', 'SpotAsPriceGo'];
const resourceTypes = ['instance', 'disk', 'reservedinstance', 'scu'];

export const describeRegions: Action = {
  name: 'DescribeRegions',
  regionRequired: false,
  async handle({ params, services, host }) {
    const language = params.string('AcceptLanguage') || 'zh-CN';
    if (!languages.includes(language)) throw new ApiError('InvalidAcceptLanguage.NotFound');
    const chargeType = params.string('InstanceChargeType');
    if (chargeType && !chargeTypes.includes(chargeType)) throw new ApiError('Invalid.InstanceChargeType');
    const resourceType = params.string('ResourceType');
    if (resourceType && !resourceTypes.includes(resourceType))
      throw new ApiError('InvalidResourceType.NotFound');
    const chinese = language.startsWith('zh');
    return {
      Regions: {
        Region: services.regions.map((regionId) => {
          const names = localNames[regionId];
          return {
            RegionId: regionId,
            LocalName: names ? (chinese ? names.zh : names.en) : regionId,
            // Every region is served by this endpoint.
            RegionEndpoint: host,
            Status: 'available',
          };
        }),
      },
    };
  },
};
