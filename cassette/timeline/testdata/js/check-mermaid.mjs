// check-mermaid parses the Mermaid diagram on standard input with Mermaid's own
// parser (the one GitHub renders with) and exits 1 with the parse error when it fails.
import { readFileSync } from 'node:fs';
import mermaid from 'mermaid';

const text = readFileSync(0, 'utf8');
try {
  const res = await mermaid.parse(text);
  console.log(JSON.stringify(res));
} catch (err) {
  console.error(String(err && err.message ? err.message : err));
  process.exit(1);
}
