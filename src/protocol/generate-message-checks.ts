import { writeFileSync } from 'node:fs';
import { messageChecksSource } from './message-checks-source.js';

// `npm run generate:checks`: rewrites message-checks.ts after a schema changed.
writeFileSync(new URL('../../../src/protocol/message-checks.ts', import.meta.url), messageChecksSource());
