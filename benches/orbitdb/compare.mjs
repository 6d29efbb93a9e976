// The privatelog workload through @orbitdb/core and through Kaichi, side by side.
//
//   npm ci && node compare.mjs [N]        (from benches/orbitdb; N defaults to 10000)
//
// Workload: one writer appends N short chat messages one at a time (each
// durable before the next), then a fresh instance opens the log and reads
// every entry. OrbitDB runs on a real Helia node (libp2p with gossipsub, no
// network) with an in-memory blockstore, its default level storage on disk.
// Kaichi runs `cargo bench --bench privatelog_memory -- --workload N`:
// encrypted, signed entries in SQLite (Durability::Full, one commit each),
// then a fresh process opens and pages the conversation.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// js-libp2p 2.x on Node 20 needs Promise.withResolvers.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((a, b) => { resolve = a; reject = b })
    return { promise, resolve, reject }
  }
}

const { createLibp2p } = await import('libp2p')
const { gossipsub } = await import('@chainsafe/libp2p-gossipsub')
const { identify } = await import('@libp2p/identify')
const { Helia } = await import('@helia/utils')
const { MemoryBlockstore } = await import('blockstore-core')
const { MemoryDatastore } = await import('datastore-core')
const { createOrbitDB } = await import('@orbitdb/core')

const N = parseInt(process.argv[2] ?? '10000', 10)
const text = (i) => `message number ${i}, a typical short chat line`

async function orbit () {
  const dir = mkdtempSync(join(tmpdir(), 'orbitdb-bench-'))
  const libp2p = await createLibp2p({
    addresses: { listen: [] },
    transports: [],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
  const ipfs = new Helia({ libp2p, blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore(), blockBrokers: [] })
  await ipfs.start()
  const orbitdb = await createOrbitDB({ ipfs, directory: dir })
  const db = await orbitdb.open('kaichi-comparison', { type: 'events' })
  const t0 = performance.now()
  for (let i = 0; i < N; i++) await db.add(text(i))
  const t1 = performance.now()
  const address = db.address
  await db.close()
  const t2 = performance.now()
  const again = await orbitdb.open(address)
  let n = 0
  for await (const _ of again.iterator()) n++ // eslint-disable-line no-unused-vars
  const t3 = performance.now()
  await again.close()
  await orbitdb.stop()
  await ipfs.stop()
  rmSync(dir, { recursive: true, force: true })
  if (n !== N) throw new Error(`OrbitDB read ${n} of ${N} entries`)
  return {
    append_per_s: N / ((t1 - t0) / 1000),
    load_s: (t3 - t2) / 1000,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024
  }
}

function kaichi () {
  const out = execFileSync('cargo', ['bench', '-q', '-p', 'kaichi-benches', '--bench', 'privatelog_memory', '--', '--workload', String(N)], {
    cwd: join(import.meta.dirname, '..', '..'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  })
  return JSON.parse(out.trim().split('\n').pop())
}

const k = kaichi()
const o = await orbit()
const row = (name, a, b, unit) => console.log(`${name.padEnd(34)} ${a.toFixed(2).padStart(12)} ${b.toFixed(2).padStart(12)}  ${unit}`)
console.log(`\nworkload: ${N} messages, appended one at a time, then reopened and read in full\n`)
console.log(`${''.padEnd(34)} ${'kaichi'.padStart(12)} ${'orbitdb'.padStart(12)}`)
row('append (entries/s, durable each)', k.append_per_s, o.append_per_s, 'entries/s')
row('reopen + read all (s)', k.load_s, o.load_s, 's')
row('peak resident memory (MB)', k.peak_rss_mb, o.peak_rss_mb, 'MB (kaichi: reading process; orbitdb: whole run)')
console.log(JSON.stringify({ n: N, kaichi: k, orbitdb: o }))
