// Peer client for bench/compare: undici (bench/peers/README.md).
//
//   node client.mjs URL REQUESTS CONCURRENCY [http1|h2c|h2]
//
// CONCURRENCY async workers share one undici dispatcher and take requests from a shared
// counter. http1: a Pool of CONCURRENCY connections, one request at a time each
// (pipelining 1). h2: one Client (one connection) with HTTP/2 by ALPN (allowH2),
// certificate not verified; h2c: one H2CClient (HTTP/2 by prior knowledge). On HTTP/2,
// pipelining and maxConcurrentStreams are raised to CONCURRENCY (defaults 1 and 100) so
// that CONCURRENCY streams are in flight. Prints one line of JSON on stdout.
import { performance } from 'node:perf_hooks'
import { Client, H2CClient, Pool } from 'undici'

function fail (message, status) {
  process.stderr.write(message + '\n')
  process.exit(status)
}

// Nearest rank: the smallest sample with at least p of the samples at or below it.
function percentile (sorted, p) {
  if (sorted.length === 0) return 0
  const rank = Math.min(Math.max(Math.ceil(p * sorted.length), 1), sorted.length)
  return Math.round(sorted[rank - 1] * 10) / 10
}

const args = process.argv.slice(2)
if (args.length < 3 || args.length > 4) {
  fail('usage: client.mjs URL REQUESTS CONCURRENCY [http1|h2c|h2]', 2)
}
const [url, totalText, concurrencyText, protocol = 'http1'] = args
const total = Number(totalText)
const concurrency = Number(concurrencyText)
if (!Number.isSafeInteger(total) || total <= 0 || !Number.isSafeInteger(concurrency) || concurrency <= 0) {
  fail('REQUESTS and CONCURRENCY must be positive integers', 2)
}
if (!['http1', 'h2c', 'h2'].includes(protocol)) fail('PROTOCOL must be http1, h2c or h2', 2)

const target = new URL(url)
const path = target.pathname + target.search
const streams = { pipelining: concurrency, maxConcurrentStreams: concurrency }
let dispatcher
if (protocol === 'http1') {
  dispatcher = new Pool(target.origin, { connections: concurrency, pipelining: 1 })
} else if (protocol === 'h2c') {
  dispatcher = new H2CClient(target.origin, streams)
} else {
  dispatcher = new Client(target.origin, {
    ...streams,
    allowH2: true,
    connect: { rejectUnauthorized: false }
  })
}

let issued = 0
let ok = 0
let errors = 0
const latencies = []

async function worker () {
  while (issued < total) {
    ++issued
    const start = performance.now()
    try {
      const { statusCode, body } = await dispatcher.request({ path, method: 'GET' })
      // dump() stops reading past its limit (128 KiB by default); read every body to its end.
      await body.dump({ limit: Infinity })
      if (statusCode !== 200) throw new Error(`status ${statusCode}`)
      latencies.push((performance.now() - start) * 1000)
      ++ok
    } catch (error) {
      if (errors++ === 0) process.stderr.write(`first error: ${error.message}\n`)
    }
  }
}

const cpuBefore = process.cpuUsage()
const start = performance.now()
await Promise.all(Array.from({ length: concurrency }, worker))
const seconds = (performance.now() - start) / 1000
const cpu = process.cpuUsage(cpuBefore)
await dispatcher.close()

latencies.sort((a, b) => a - b)
process.stdout.write(JSON.stringify({
  client: 'undici',
  protocol,
  requests: total,
  ok,
  errors,
  concurrency,
  seconds: Math.round(seconds * 1e6) / 1e6,
  cpu_s: (cpu.user + cpu.system) / 1e6,
  p50_us: percentile(latencies, 0.50),
  p99_us: percentile(latencies, 0.99)
}) + '\n')
process.exitCode = errors === 0 ? 0 : 1
