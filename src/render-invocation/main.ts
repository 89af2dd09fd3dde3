// Entry point of the init container that renders a v2 (jinja) application's invocation inside the
// job's pod (docs/adr/0012): `node dist/src/render-invocation/main.js <template> <values.json> <script>`,
// with the rank in UCLOUD_RANK, as IM2's `ucloud script-gen <template> <params> <output>` is run
// (provider-integration/im2/pkg/integrations/k8s/cli_script_gen.go). The operator never runs this.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { renderScript } from './engine.js';
import { SCRIPT_PATH, TEMPLATE_FILE, VALUES_FILE } from './layout.js';

/** UCLOUD_RANK as script-gen reads it (strconv.ParseInt base 10); anything else leaves rank 0. */
export function rankFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || !/^[+-]?\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

export function main(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const [templateFile = TEMPLATE_FILE, valuesFile = VALUES_FILE, outputFile = SCRIPT_PATH] = argv;
  let template: string;
  let values: Record<string, unknown>;
  try {
    template = readFileSync(templateFile, 'utf8');
    const parsed: unknown = JSON.parse(readFileSync(valuesFile, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${valuesFile} must hold a JSON object`);
    values = parsed as Record<string, unknown>;
  } catch (e) {
    process.stderr.write(`render-invocation: cannot read the invocation: ${(e as Error).message}\n`);
    return 1;
  }
  // A template that fails still gives a script: one that prints why, so the user reads it in the job's log.
  const script = renderScript(template, values, rankFromEnv(env.UCLOUD_RANK));
  try {
    writeFileSync(outputFile, script, { mode: 0o755 });
  } catch (e) {
    process.stderr.write(`render-invocation: cannot write ${outputFile}: ${(e as Error).message}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2), process.env);
}
