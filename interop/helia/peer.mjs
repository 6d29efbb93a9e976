// A Helia node for the interop tests, driven by JSON lines on stdin.
//
//   node peer.mjs <Ed25519|RSA|secp256k1|ECDSA>
//
// prints {"ready":true,"peerId":...,"addrs":[...]}, then answers each line:
//   {"op":"dial","addr":...}                 -> {"ok":true}
//   {"op":"get","cid":...}                   -> {"ok":true,"bytes":<hex>}   (Bitswap when not held)
//   {"op":"put","bytes":<hex>}               -> {"ok":true,"cid":...}       (raw, SHA-256, CIDv1)
//   {"op":"has","cid":...}                   -> {"ok":true,"has":bool}
//   {"op":"fetch","cids":[...],"concurrency":n} -> {"ok":true,"blocks":n,"ms":t}  (each block over Bitswap, n at a time)
//   {"op":"pin","cid":...}                   -> {"ok":true,"blocks":n}      (recursive: every block the DAG links, fetched over Bitswap)
//   {"op":"resolve","name":<k51… or 12D3…>}  -> {"ok":true,"value":"/ipfs/<cid>[/path]","sequence":n}
//   {"op":"publish","bytes":<hex>}           -> {"ok":true,"name":<k51…>,"cid":...}  (a new Ed25519 key; IPNS record put in the DHT)
//   {"op":"quit"}
// The DHT is the IPFS DHT (`/ipfs/kad/1.0.0`) in client mode: Helia only
// asks the servers it is connected to (here, Kaichi nodes).
// Helia is built the way `createHelia` builds it around a given libp2p
// (Helia core from @helia/utils, the Bitswap block broker, libp2p routing),
// without the defaults' HTTP gateways and WebRTC (no internet here).

if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject
    const promise = new Promise((a, b) => { resolve = a; reject = b })
    return { promise, resolve, reject }
  }
}

const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { identify } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
const { ipns } = await import('@helia/ipns')
const { peerIdFromCID, peerIdFromString, peerIdFromPrivateKey } = await import('@libp2p/peer-id')
const { base36 } = await import('multiformats/bases/base36')
const { ipnsValidator } = await import('ipns/validator')
const { ipnsSelector } = await import('ipns/selector')
const { generateKeyPair } = await import('@libp2p/crypto/keys')
const { Helia } = await import('@helia/utils')
const { bitswap } = await import('@helia/block-brokers')
const { libp2pRouting } = await import('@helia/routers')
const { MemoryBlockstore } = await import('blockstore-core')
const { MemoryDatastore } = await import('datastore-core')
const { multiaddr } = await import('@multiformats/multiaddr')
const { CID } = await import('multiformats/cid')
const raw = await import('multiformats/codecs/raw')
const { sha256 } = await import('multiformats/hashes/sha2')
const readline = await import('node:readline')

const keyType = process.argv[2] ?? 'Ed25519'
const privateKey = keyType === 'RSA' ? await generateKeyPair('RSA', 2048) : await generateKeyPair(keyType)
const datastore = new MemoryDatastore()
const libp2p = await createLibp2p({
  privateKey,
  datastore,
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    ping: ping(),
    // Loopback addresses are kept (the default public-DHT mappers drop them).
    // IPNS validation and selection as Helia's defaults configure them.
    dht: kadDHT({
      protocol: '/ipfs/kad/1.0.0',
      clientMode: true,
      peerInfoMapper: passthroughMapper,
      validators: { ipns: ipnsValidator },
      selectors: { ipns: ipnsSelector }
    })
  }
})
const helia = new Helia({
  libp2p,
  datastore,
  blockstore: new MemoryBlockstore(),
  blockBrokers: [bitswap()],
  routers: [libp2pRouting(libp2p)],
  metrics: libp2p.metrics
})
await helia.start()
const names = ipns(helia)
const peerIdOf = (name) => name.startsWith('k') ? peerIdFromCID(CID.parse(name, base36)) : peerIdFromString(name)

const hex = (b) => Buffer.from(b).toString('hex')
const out = (v) => process.stdout.write(JSON.stringify(v) + '\n')
out({ ready: true, peerId: libp2p.peerId.toString(), keyType: privateKey.type, addrs: libp2p.getMultiaddrs().map(String) })

const lines = readline.createInterface({ input: process.stdin })
for await (const line of lines) {
  let req
  try { req = JSON.parse(line) } catch { out({ ok: false, error: 'not JSON' }); continue }
  try {
    if (req.op === 'dial') {
      await libp2p.dial(multiaddr(req.addr), { signal: AbortSignal.timeout(20000) })
      out({ ok: true })
    } else if (req.op === 'get') {
      const bytes = await helia.blockstore.get(CID.parse(req.cid), { signal: AbortSignal.timeout(30000) })
      out({ ok: true, bytes: hex(bytes) })
    } else if (req.op === 'put') {
      const bytes = Buffer.from(req.bytes, 'hex')
      const cid = CID.createV1(raw.code, await sha256.digest(bytes))
      await helia.blockstore.put(cid, bytes)
      out({ ok: true, cid: cid.toString() })
    } else if (req.op === 'fetch') {
      const cids = req.cids.map((c) => CID.parse(c))
      const started = performance.now()
      let next = 0
      let blocks = 0
      const worker = async () => {
        while (next < cids.length) {
          const cid = cids[next++]
          await helia.blockstore.get(cid, { signal: AbortSignal.timeout(60000) })
          blocks++
        }
      }
      await Promise.all(Array.from({ length: req.concurrency ?? 1 }, worker))
      out({ ok: true, blocks, ms: performance.now() - started })
    } else if (req.op === 'pin') {
      let blocks = 0
      const started = performance.now()
      for await (const _ of helia.pins.add(CID.parse(req.cid), { signal: AbortSignal.timeout(req.timeout_ms ?? 60000) })) blocks++
      out({ ok: true, blocks, ms: performance.now() - started })
    } else if (req.op === 'has') {
      out({ ok: true, has: await helia.blockstore.has(CID.parse(req.cid)) })
    } else if (req.op === 'resolve') {
      const result = await names.resolve(peerIdOf(req.name).toMultihash(), { signal: AbortSignal.timeout(30000) })
      out({ ok: true, value: `/ipfs/${result.cid}${result.path ? '/' + result.path : ''}`, sequence: Number(result.record.sequence) })
    } else if (req.op === 'publish') {
      const bytes = Buffer.from(req.bytes, 'hex')
      const cid = CID.createV1(raw.code, await sha256.digest(bytes))
      await helia.blockstore.put(cid, bytes)
      const key = await generateKeyPair('Ed25519')
      await names.publish(key, cid, { signal: AbortSignal.timeout(30000) })
      out({ ok: true, name: peerIdFromPrivateKey(key).toCID().toString(base36), cid: cid.toString() })
    } else if (req.op === 'quit') {
      break
    } else {
      out({ ok: false, error: `unknown op ${req.op}` })
    }
  } catch (e) {
    out({ ok: false, error: String(e?.message ?? e) })
  }
}
await helia.stop()
process.exit(0)
