// Validates the API contracts with third-party parsers: the OpenAPI document
// with @apidevtools/swagger-parser, the AsyncAPI document with
// @asyncapi/parser. Exits 1 on any error. Run by .ci/run:
//   NODE_PATH=DIR/node_modules node scripts/check-contracts.js handlers/openapi.yaml events/asyncapi.json
'use strict';
const fs = require('fs');
const SwaggerParser = require('@apidevtools/swagger-parser');
const { Parser } = require('@asyncapi/parser');

async function main() {
  const [openapi, asyncapi] = process.argv.slice(2);
  let failed = false;
  try {
    const api = await SwaggerParser.validate(openapi);
    console.log(`swagger-parser: ${openapi} is valid (${api.info.title}, OpenAPI ${api.openapi})`);
  } catch (err) {
    failed = true;
    console.error(`swagger-parser: ${openapi}: ${err.message}`);
  }
  const { document, diagnostics } = await new Parser().parse(fs.readFileSync(asyncapi, 'utf8'));
  // Severity 0 is an error; 1 warning, 2 information, 3 hint.
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of diagnostics) {
    const where = d.path && d.path.length ? d.path.join('.') : '(root)';
    console.error(`asyncapi: ${['error', 'warning', 'info', 'hint'][d.severity]} ${d.code} at ${where}: ${d.message}`);
  }
  if (!document || errors.length > 0) {
    failed = true;
    console.error(`asyncapi: ${asyncapi} is not valid (${errors.length} errors)`);
  } else {
    console.log(`@asyncapi/parser: ${asyncapi} is valid (AsyncAPI ${document.version()})`);
  }
  process.exit(failed ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
