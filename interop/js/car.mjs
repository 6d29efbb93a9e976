// Independent checks of Kaichi's CAR files with @ipld/car and multiformats.
//
//   node car.mjs verify <file.car>          every block's CID recomputed (sha2-256); DAG-CBOR
//                                           blocks decoded by @ipld/dag-cbor, re-encoded
//                                           byte for byte, and their links walked from the roots
//   node car.mjs rewrite <in.car> <out.car> the same roots and blocks written by @ipld/car
//
// Prints one JSON object; `verify` exits 1 on the first bad block.
import { readFileSync, writeFileSync } from 'node:fs'
import { CarReader, CarWriter } from '@ipld/car'
import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from 'multiformats/bytes'
import { CID } from 'multiformats/cid'
import * as dagCbor from '@ipld/dag-cbor'

// Every CID inside a decoded IPLD value.
function * links (value) {
  const cid = CID.asCID(value)
  if (cid) { yield cid; return }
  if (Array.isArray(value)) for (const v of value) yield * links(v)
  else if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const v of Object.values(value)) yield * links(v)
  }
}

const [cmd, ...args] = process.argv.slice(2)
const out = (o) => console.log(JSON.stringify(o))

try {
  const reader = await CarReader.fromBytes(readFileSync(args[0]))
  const roots = (await reader.getRoots()).map(String)
  if (cmd === 'verify') {
    let blocks = 0
    const codecs = new Set()
    const children = new Map()
    for await (const { cid, bytes } of reader.blocks()) {
      if (cid.multihash.code !== sha256.code) throw new Error(`unexpected hash in ${cid}`)
      const digest = await sha256.digest(bytes)
      if (!equals(digest.bytes, cid.multihash.bytes)) throw new Error(`block ${cid} does not match its CID`)
      let kids = []
      if (cid.code === dagCbor.code) {
        const value = dagCbor.decode(bytes)
        if (!equals(dagCbor.encode(value), bytes)) throw new Error(`block ${cid} is not canonical DAG-CBOR`)
        kids = [...links(value)].map(String)
      }
      children.set(String(cid), kids)
      codecs.add(cid.code)
      blocks++
    }
    // The blocks an IPFS DAG walk from the roots reaches within this CAR.
    const reached = new Set()
    const todo = [...roots]
    while (todo.length) {
      const c = todo.pop()
      if (reached.has(c) || !children.has(c)) continue
      reached.add(c)
      todo.push(...children.get(c))
    }
    out({ valid: true, blocks, roots, version: reader.version, codecs: [...codecs], reachable: reached.size })
  } else if (cmd === 'rewrite') {
    const { writer, out: chunks } = CarWriter.create((await reader.getRoots()))
    const parts = []
    const collect = (async () => { for await (const c of chunks) parts.push(c) })()
    for await (const block of reader.blocks()) await writer.put(block)
    await writer.close()
    await collect
    writeFileSync(args[1], Buffer.concat(parts))
    out({ roots })
  } else {
    throw new Error(`unknown command ${cmd}`)
  }
} catch (err) {
  out({ valid: false, error: String(err && err.message ? err.message : err) })
  process.exit(1)
}
