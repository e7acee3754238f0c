import { MetadataParser } from './lambdas/adapters/metadata-parser/metadata-parser.ts';
import { readFileSync } from 'node:fs';
const p = new MetadataParser({ metadataParseTimeoutMs: 3000, metadataParseMemoryMb: 64 });
const t = performance.now();
const jpg = readFileSync('test/fixtures/' + (process.argv[2] ?? ''));
console.log(await p.parseImage(jpg).catch(e => e), Math.round(performance.now() - t));
await p.close();
