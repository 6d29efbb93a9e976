// Independent checks of Kaichi's identity layer with the reference JavaScript
// implementations: `ipns` (js-ipns) and `@libp2p/peer-id` / `@libp2p/crypto`.
//
//   node identity.mjs peer-id <seed-hex>
//   node identity.mjs parse-name <name>
//   node identity.mjs create <seed-hex> <value> <seq> <lifetime-ms> <out-file> [v2]
//   node identity.mjs validate <name> <record-file>
//
// Every command prints one JSON object; `validate` exits 1 when invalid.
import { readFileSync, writeFileSync } from 'node:fs'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString, peerIdFromCID } from '@libp2p/peer-id'
import { createIPNSRecord, marshalIPNSRecord, unmarshalIPNSRecord, multihashToIPNSRoutingKey } from 'ipns'
import { ipnsValidator } from 'ipns/validator'
import { CID } from 'multiformats/cid'
import { base36 } from 'multiformats/bases/base36'
import { base32 } from 'multiformats/bases/base32'

const hex = (s) => Uint8Array.from(s.match(/../g).map((b) => parseInt(b, 16)))

function parseName (s) {
  if (s.startsWith('k')) return peerIdFromCID(CID.parse(s, base36))
  if (s.startsWith('b')) return peerIdFromCID(CID.parse(s, base32))
  return peerIdFromString(s)
}

const [cmd, ...args] = process.argv.slice(2)
const out = (o) => console.log(JSON.stringify(o, (_, v) => typeof v === 'bigint' ? v.toString() : v))

try {
  if (cmd === 'peer-id') {
    const key = await generateKeyPairFromSeed('Ed25519', hex(args[0]))
    const peer = peerIdFromPrivateKey(key)
    out({ peer_id: peer.toString(), base36: peer.toCID().toString(base36), base32: peer.toCID().toString(base32) })
  } else if (cmd === 'parse-name') {
    out({ peer_id: parseName(args[0]).toString() })
  } else if (cmd === 'create') {
    const [seed, value, seq, lifetime, file, v2] = args
    const key = await generateKeyPairFromSeed('Ed25519', hex(seed))
    const record = await createIPNSRecord(key, value, BigInt(seq), Number(lifetime), { v1Compatible: v2 !== 'v2' })
    writeFileSync(file, marshalIPNSRecord(record))
    out({ name: peerIdFromPrivateKey(key).toCID().toString(base36) })
  } else if (cmd === 'validate') {
    const [name, file] = args
    const bytes = readFileSync(file)
    const routingKey = multihashToIPNSRoutingKey(parseName(name).toMultihash())
    await ipnsValidator(routingKey, bytes)
    const rec = unmarshalIPNSRecord(bytes)
    out({ valid: true, value: rec.value, sequence: rec.sequence, validity: rec.validity, ttl: rec.ttl })
  } else {
    throw new Error(`unknown command ${cmd}`)
  }
} catch (err) {
  out({ valid: false, error: String(err && err.message ? err.message : err) })
  process.exit(1)
}
