/**
 * Reading the daemon's /metrics text in tests: one parser for every test that scrapes a
 * running daemon.
 */

/** The sum of every sample of `name` over all its label values (0 when absent). */
export function sampleSum(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1))
    }
  }
  return sum
}

/** GET /metrics of the daemon whose HTTP endpoint is on 127.0.0.1:`httpPort`. */
export async function scrape(httpPort: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
}

/** `sampleSum` of a fresh scrape. */
export async function metric(httpPort: number, name: string): Promise<number> {
  return sampleSum(await scrape(httpPort), name)
}
