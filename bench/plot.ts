// Throughput versus job count (docs/performance.md): reads bench/results/*.json runs that carry a
// b1 figure and draws objects per second for the operator and its same-run baselines against the
// number of jobs, as an SVG (no plotting library: a log-x line chart is 100 lines).
// Usage: node .bench-build/bench/plot.js <out.svg> <results.json>...
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

interface Figure {
  id: string;
  value: number;
  baseline?: number;
  detail?: { objects?: number; keepAliveLoopMs?: number };
}
interface Run {
  jobs: number;
  figures: Figure[];
}
interface Point {
  jobs: number;
  operator: number;
  loop: number;
  keepAlive: number;
  file: string;
}

export function points(files: readonly string[]): Point[] {
  const out: Point[] = [];
  for (const file of files) {
    const run = JSON.parse(readFileSync(file, 'utf8')) as Run;
    const b1 = run.figures.find((f) => f.id === 'b1');
    const objects = b1?.detail?.objects;
    if (!b1 || !objects) continue;
    // Runs without b in BENCH_ONLY (the 10,000-job e/f run) have the operator's time only.
    out.push({
      jobs: run.jobs,
      operator: objects / (b1.value / 1000),
      loop: b1.baseline ? objects / (b1.baseline / 1000) : NaN,
      keepAlive: b1.detail?.keepAliveLoopMs ? objects / (b1.detail.keepAliveLoopMs / 1000) : NaN,
      file: basename(file),
    });
  }
  return out.sort((a, b) => a.jobs - b.jobs);
}

export function svg(ps: readonly Point[]): string {
  const W = 640;
  const H = 360;
  const m = { l: 64, r: 150, t: 30, b: 48 };
  const xs = ps.map((p) => Math.log10(p.jobs));
  const x0 = Math.floor(Math.min(...xs));
  const x1 = Math.ceil(Math.max(...xs));
  const yMax = Math.ceil(Math.max(...ps.flatMap((p) => [p.operator, p.loop, p.keepAlive]).filter(Number.isFinite)) / 50) * 50;
  const X = (jobs: number) => m.l + ((Math.log10(jobs) - x0) / Math.max(1, x1 - x0)) * (W - m.l - m.r);
  const Y = (v: number) => H - m.b - (v / yMax) * (H - m.t - m.b);
  const series: Array<[keyof Point, string, string]> = [
    ['operator', '#1f77b4', 'operator'],
    ['loop', '#d62728', 'plain client-node loop'],
    ['keepAlive', '#2ca02c', 'keep-alive loop'],
  ];
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${m.l}" y="18" font-size="14">b1: children created per second vs. single-rank jobs (same-run baselines)</text>`);
  for (let e = x0; e <= x1; e++) {
    const x = X(10 ** e);
    parts.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${H - m.b}" stroke="#ddd"/>`);
    parts.push(`<text x="${x}" y="${H - m.b + 16}" text-anchor="middle">${(10 ** e).toLocaleString('en')}</text>`);
  }
  for (let v = 0; v <= yMax; v += yMax / 5) {
    const y = Y(v).toFixed(1);
    parts.push(`<line x1="${m.l}" y1="${y}" x2="${W - m.r}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end">${Math.round(v)}</text>`);
  }
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">jobs (log scale); 4 objects per job; runs without baselines show the operator only</text>`,
  );
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">objects / s</text>`);
  series.forEach(([key, colour, label], i) => {
    const have = ps.filter((p) => Number.isFinite(p[key] as number));
    const pts = have.map((p) => `${X(p.jobs).toFixed(1)},${Y(p[key] as number).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of have) parts.push(`<circle cx="${X(p.jobs).toFixed(1)}" cy="${Y(p[key] as number).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = m.t + 10 + i * 18;
    parts.push(`<line x1="${W - m.r + 12}" y1="${ly}" x2="${W - m.r + 30}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${W - m.r + 34}" y="${ly + 4}">${label}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

if (process.argv[1]?.endsWith('plot.js')) {
  const [out, ...files] = process.argv.slice(2);
  if (!out || !files.length) {
    process.stderr.write('usage: node .bench-build/bench/plot.js <out.svg> <results.json>...\n');
    process.exit(2);
  }
  const ps = points(files);
  writeFileSync(out, svg(ps));
  for (const p of ps)
    process.stdout.write(`${p.jobs}\toperator ${p.operator.toFixed(0)}/s\tloop ${p.loop.toFixed(0)}/s\tkeep-alive ${p.keepAlive.toFixed(0)}/s\t${p.file}\n`);
}
