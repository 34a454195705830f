/** One scrape of a /metrics endpoint: every sample by its series, e.g. `artifact_registry_imports_total{status="FAILED"}`. */
export class Scrape {
  constructor(readonly text: string, private readonly samples: Map<string, number>) {}

  /** The sample's value; 0 when the series is absent (a counter not yet touched). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.samples.get(seriesKey(name, labels)) ?? 0;
  }

  has(name: string, labels: Record<string, string> = {}): boolean {
    return this.samples.has(seriesKey(name, labels));
  }

  /** Every series of a metric family, for failure messages. */
  series(prefix: string): string[] {
    return [...this.samples.keys()].filter((k) => k.startsWith(prefix));
  }
}

function seriesKey(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1));
  return pairs.length ? `${name}{${pairs.map(([k, v]) => `${k}="${v}"`).join(",")}}` : name;
}

/** Parses the text exposition format (the subset prom-client writes: no timestamps, escaped label values). */
export function parseExposition(text: string): Scrape {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2].replace(/\\(.)/g, (_m, c: string) => (c === "n" ? "\n" : c));
    samples.set(seriesKey(match[1], labels), Number(match[3]));
  }
  return new Scrape(text, samples);
}

export async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}/metrics answered ${res.status}: ${text}`);
  return parseExposition(text);
}
