// A js-libp2p node (libp2p 2.x, @chainsafe/libp2p-gossipsub 14, noise, yamux,
// tcp) that joins Kaichi's gossipsub mesh on the given topics and forwards.
//
//   node relay.mjs <topic>...
//   node relay.mjs --dial-ws <multiaddr>,... <topic>...
//
// With --dial-ws it is a browser's node: WebSockets only (@libp2p/websockets,
// the transport pages have), no listening, dialling the given /ws addresses.
//
// Prints JSON lines: {"event":"listening","addrs":[...]} first, then one
// {"event":"message",...} per message it forwards. Exits when stdin closes.

// js-libp2p 2.x on Node 20 needs Promise.withResolvers.
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
const { gossipsub } = await import('@chainsafe/libp2p-gossipsub')
const { identify } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')

const { webSockets } = await import('@libp2p/websockets')
const { multiaddr } = await import('@multiformats/multiaddr')

const args = process.argv.slice(2)
const dialWs = args[0] === '--dial-ws' ? args[1].split(',') : null
const topics = dialWs ? args.slice(2) : args

const node = await createLibp2p({
  addresses: { listen: dialWs ? [] : ['/ip4/127.0.0.1/tcp/0'] },
  transports: dialWs ? [webSockets()] : [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({ globalSignaturePolicy: 'StrictSign', heartbeatInterval: 200, allowPublishToZeroTopicPeers: true })
  }
})
for (const topic of topics) node.services.pubsub.subscribe(topic)
node.services.pubsub.addEventListener('message', (e) => {
  console.log(JSON.stringify({ event: 'message', topic: e.detail.topic, bytes: e.detail.data.length, from: String(e.detail.from ?? '') }))
})
for (const addr of dialWs ?? []) {
  const connection = await node.dial(multiaddr(addr))
  console.log(JSON.stringify({ event: 'connected', peer: String(connection.remotePeer), addr: String(connection.remoteAddr) }))
}
console.log(JSON.stringify({ event: 'listening', peer_id: String(node.peerId), addrs: node.getMultiaddrs().map(String) }))
process.stdin.resume()
process.stdin.on('end', async () => { await node.stop(); process.exit(0) })
