// The graphql-http server audits (npm `graphql-http`) against a live homechef: prints every result and a
// summary; exits 1 on any error (warnings and notices are printed: the README lists the deliberate ones).
//   node scripts/graphql-http-audit.mjs http://127.0.0.1:8000/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const counts = { ok: 0, warn: 0, notice: 0, error: 0 };
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  counts[result.status] += 1;
  if (result.status !== 'ok') {
    console.log(`${result.status.toUpperCase()} ${audit.id} ${audit.name}: ${result.reason}`);
  }
}
console.log(`graphql-http audit: ${counts.ok} ok, ${counts.warn} warnings, ${counts.notice} notices, ${counts.error} errors`);
process.exit(counts.error > 0 ? 1 : 0);
